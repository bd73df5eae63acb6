ardour {
	["type"]    = "dsp",
	name        = "DAW Test MIDI Capture",
	category    = "Utility",
	license     = "MIT",
	author      = "Audio Mamba tests",
	description = [[Test probe for tests/daw: passes audio and MIDI through unchanged and
logs, in a shared-memory block the session script reads, every MIDI event it sees and
the position of the first non-zero audio sample (the anchor that ties this stream to the
clip). Positions count samples processed since the last reset request.]]
}

-- Shared memory layout (32-bit words; ints and floats share it):
--   int[0] reset request (session script writes 1, we clear it after resetting)
--   int[1] samples processed since reset     int[2] anchor (-1 until audio appears)
--   int[3] events logged                     int[4] snapshot samples stored
--   int[5] events dropped (log full)        int[6] timeline position of the anchor
-- Timeline positions are Session:transport_sample () (the cycle's start on Ardour's timeline)
-- plus the offset in the cycle: with latency compensation Ardour feeds the track so that, after
-- the plugin, the audio at that position is the timeline's audio there; check.py verifies it.
--   float[SNAP ..] channel-1 audio from the anchor on (lets the checker prove the anchor)
--   int[EVT + 5*i ..] event i: position, status, data1, data2, timeline position
SNAP, NSNAP = 16, 256
EVT, MAXEV = 16 + 256, 4096

function dsp_ioconfig ()
	return { { audio_in = -1, audio_out = -1, midi_in = 1, midi_out = 1 } }
end

function dsp_init (rate)
	self:shmem():allocate (EVT + 5 * MAXEV)
	self:shmem():clear ()
	self:shmem():atomic_set_int (0, 1)
end

function dsp_configure (ins, outs)
	n_out = outs
end

local function reset (h)
	for i = 2, 7 do h[i] = 0 end
	h[3] = -1
end

function dsp_runmap (bufs, in_map, out_map, n_samples, offset)
	-- pass everything through first; we only observe
	ARDOUR.DSP.process_map (bufs, n_out, in_map, out_map, n_samples, offset)
	local shm = self:shmem ()
	local h = shm:to_int (0):array () -- 1-based view: h[1] is int[0]
	if shm:atomic_get_int (0) == 1 then
		reset (h)
		shm:atomic_set_int (0, 0)
	end
	local base = h[2]

	local ia = in_map:get (ARDOUR.DataType ("audio"), 0)
	if ia ~= ARDOUR.ChanMapping.Invalid and h[5] < NSNAP then
		local a = bufs:get_audio (ia):data (offset):array ()
		local snap = shm:to_float (SNAP):array ()
		local i = 1
		if h[3] < 0 then -- find the first non-zero sample
			while i <= n_samples and a[i] == 0 do i = i + 1 end
			if i <= n_samples then h[3] = base + i - 1; h[7] = Session:transport_sample () + offset + i - 1 end
		end
		if h[3] >= 0 then
			while i <= n_samples and h[5] < NSNAP do
				h[5] = h[5] + 1
				snap[h[5]] = a[i]
				i = i + 1
			end
		end
	end

	local im = in_map:get (ARDOUR.DataType ("midi"), 0)
	if im ~= ARDOUR.ChanMapping.Invalid then
		local ev = shm:to_int (EVT):array ()
		for _, e in pairs (bufs:get_midi (im):table ()) do
			if h[4] >= MAXEV then h[6] = h[6] + 1 else
				local d = e:buffer ():array ()
				local k = 5 * h[4]
				ev[k + 1] = base + e:time () - offset
				ev[k + 2] = d[1]
				ev[k + 3] = e:size () > 1 and d[2] or 0
				ev[k + 4] = e:size () > 2 and d[3] or 0
				ev[k + 5] = Session:transport_sample () + e:time () -- timeline position
				h[4] = h[4] + 1
			end
		end
	end
	h[2] = base + n_samples
end
