-- Session script for ardour7-lua (headless Ardour, "None (Dummy)" backend). run.sh calls it
-- once per stage, each stage in a fresh process, so that "reopen" really is a cold load:
--   DAW_STAGE=create  new 48 kHz session, stereo track with a region holding the clip,
--                     the plugin under test + the capture probe, saved.
--   DAW_STAGE=export  load, bounce (export) the session to bounce$DAW_RUN.wav and dump the
--                     probe's log of that bounce to capture$DAW_RUN.txt (run twice).
--   DAW_STAGE=params  load, set non-default parameters, save.
--   DAW_STAGE=reopen  load the saved session and print the parameters back.
-- Lines starting with "@" are the results run.sh/check.py parse; everything else is log.
io.stdout:setvbuf ("line") -- Ardour forks helpers; unflushed output would be printed twice
local env = os.getenv
local stage, dir, name = env ("DAW_STAGE"), env ("DAW_SESSION_DIR"), env ("DAW_SESSION_NAME")
local out = env ("DAW_OUT")
local plugin_name, plugin_type = env ("DAW_PLUGIN_NAME"), env ("DAW_PLUGIN_TYPE")
local probe_name = "DAW Test MIDI Capture"

local function fail (msg) print ("@error " .. msg); quit () end

-- The parameters we change for the save/reload check: DAW_PARAMS (set by run.sh) is
-- "pattern=value@min:max;..." with a Lua pattern for the name and the value in the plugin's
-- own units, whose range is min..max (plugin/src/params.rs). Ardour takes VST3 parameters in
-- the plugin's plain units (through its own conversion); a descriptor whose bounds are not the
-- plugin's range means normalized values, and we convert.
local function wanted_params ()
	local t = {}
	for pat, v, lo, hi in string.gmatch (env ("DAW_PARAMS") or "", "([^=;]+)=([^@;]+)@([^:;]+):([^;]+)") do
		t[#t + 1] = { pat = pat, value = tonumber (v), lo = tonumber (lo), hi = tonumber (hi) }
	end
	return t
end

-- Ardour value <-> plugin value, for a parameter whose Ardour range is desc.lower..desc.upper
local function normalized (proc, n, w)
	local _, _, pd = ARDOUR.LuaAPI.plugin_automation (proc, n)
	-- the bounds come as f32 widened to double (0.99 -> 0.9900000095)
	return not (math.abs (pd.lower - w.lo) < 1e-4 and math.abs (pd.upper - w.hi) < 1e-4)
end
local function to_plain (proc, n, w, v)
	if normalized (proc, n, w) then return w.lo + v * (w.hi - w.lo) end
	return v
end
local function to_ardour (proc, n, w, v)
	if normalized (proc, n, w) then return (v - w.lo) / (w.hi - w.lo) end
	return v
end

local function find_track (s)
	local r = s:route_by_name ("drums")
	if r:isnil () then fail ("no track 'drums'") end
	return r
end

-- The plugin under test is the first plugin on the track, the probe the one named probe_name.
local function find_procs (r)
	local plug, probe
	local i = 0
	while true do
		local p = r:nth_plugin (i)
		if p:isnil () then break end
		if p:name () == probe_name then probe = p elseif not plug then plug = p end
		i = i + 1
	end
	if not plug or not probe then fail ("plugin or probe missing on track") end
	return plug, probe
end

-- Control inputs of a plugin as { label = { index = n (LuaAPI numbering), value = v } }.
local function params_of (proc)
	local plug = proc:to_insert ():plugin (0)
	local t, n = {}, 0
	for j = 0, plug:parameter_count () - 1 do
		if plug:parameter_is_control (j) then
			if plug:parameter_is_input (j) then
				-- LuaAPI numbers parameters by control index (n), not by port index (j)
				t[#t + 1] = { label = plug:parameter_label (j), n = n,
				              value = ARDOUR.LuaAPI.get_processor_param (proc, n, true) }
			end
			n = n + 1
		end
	end
	return t
end

local function engine ()
	local be = AudioEngine:set_backend ("None (Dummy)", "", "")
	if not be then fail ("cannot start the Dummy backend") end
	be:set_buffer_size (1024) -- fixed block size: same cycle boundaries on every run
end

if stage == "create" then
	engine ()
	local s = create_session (dir, name, 48000)
	if not s then fail ("create_session failed") end
	local clip_len = tonumber (env ("DAW_CLIP_SAMPLES"))
	local clip_pos = tonumber (env ("DAW_CLIP_POS"))
	local t = s:new_audio_track (2, 2, nil, 1, "drums", ARDOUR.PresentationInfo.max_order,
	                             ARDOUR.TrackMode.Normal, true):front ()
	-- Ardour 7's Lua API has no file import (that lives in the GUI's Editor). Bouncing the
	-- still empty track makes Ardour itself create a stereo source pair + region of exactly
	-- the clip's length ("clip%L.wav", "clip%R.wav"); run.sh then writes the clip's samples
	-- into those two files before the session is loaded again.
	local r = t:to_track ():bounce_range (0, clip_len, ARDOUR.InterThreadInfo (),
	                                      ARDOUR.LuaAPI.nil_proc (), false, "clip")
	if r:isnil () then fail ("bounce_range failed") end
	t:to_track ():playlist ():add_region (r, Temporal.timepos_t (clip_pos), 1, false, 0, 0, false)
	-- no region fades: they would change the first and last 64 samples of the clip
	for reg in t:to_track ():playlist ():region_list ():iter () do
		local ar = reg:to_audioregion ()
		ar:set_fade_in_active (false); ar:set_fade_out_active (false)
	end

	-- The plugin under test, found by name among what Ardour's scan registered, then the probe.
	local p = ARDOUR.LuaAPI.new_plugin (s, plugin_name, ARDOUR.PluginType[plugin_type], "")
	if p:isnil () then fail ("plugin not found by Ardour: " .. plugin_type .. " " .. plugin_name) end
	t:set_strict_io (false) -- let the plugin's MIDI output continue down the track
	if not t:add_processor_by_index (p, 0, nil, true) then fail ("cannot insert plugin") end
	local probe = ARDOUR.LuaAPI.new_luaproc (s, probe_name)
	if probe:isnil () then fail ("probe script not found") end
	if not t:add_processor_by_index (probe, 1, nil, true) then fail ("cannot insert probe") end
	print ("@plugin " .. p:name () .. " params=" .. #params_of (p))
	s:save_state ("", false, false, false, false, false)
	close_session ()
	print ("@done create")
	quit ()
end

engine ()
local s = load_session (dir, name)
if not s then fail ("load_session failed") end
local t = find_track (s)
local plug, probe = find_procs (t)

if stage == "export" then
	-- One bounce per process: Ardour 7.3's export (ExportGraphBuilder) intermittently corrupts
	-- the heap in headless sessions (seen without any plugin too), so run.sh retries a crashed
	-- export process; a fresh process also means the plugin starts from a clean state.
	local run = env ("DAW_RUN")
	local clip_len = tonumber (env ("DAW_CLIP_SAMPLES"))
	local clip_pos = tonumber (env ("DAW_CLIP_POS"))
	local pi = plug:to_insert ()
	print (string.format ("@latency plugin=%d route=%d worst_route=%d", pi:signal_latency (),
	       t:signal_latency (), s:worst_route_latency ()))
	local shm = probe:to_insert ():plugin (0):to_luaproc ():shmem ()
	local tail = tonumber (env ("DAW_TAIL_SAMPLES"))
	-- ask the probe to reset its log, and wait for the process thread to do it
	shm:atomic_set_int (0, 1)
	local waited = 0
	while shm:atomic_get_int (0) == 1 and waited < 500 do ARDOUR.LuaAPI.usleep (10000); waited = waited + 1 end
	if shm:atomic_get_int (0) == 1 then fail ("probe did not reset (engine not running?)") end
	if env ("DAW_BYPASS") == "1" then
		-- the host's bypass: Ardour sets the plugin's designated bypass parameter (kIsBypass)
		-- and keeps running it, so the latency stays compensated
		plug:to_insert ():enable (false)
		ARDOUR.LuaAPI.usleep (300000)
		local param = -1
		for _, p in ipairs (params_of (plug)) do if p.label == "Bypass" then param = p.value end end
		print (string.format ("@bypass enabled=%s param=%g", tostring (plug:to_insert ():enabled ()), param))
	end
	local ex = s:simple_export ()
	if not ex:set_preset (env ("DAW_PRESET")) then fail ("export preset not found") end
	ex:set_folder (out)
	ex:set_name ("bounce" .. run)
	ex:set_range (0, clip_pos + clip_len + tail)
	if not ex:run_export () then fail ("export " .. run .. " failed") end
	-- dump the probe's log (layout: see capture.lua)
	local h = shm:to_int (0):array ()
	local f = io.open (out .. "/capture" .. run .. ".txt", "w")
	f:write (string.format ("samples %d\nanchor %d\ndropped %d\nanchor_timeline %d\n", h[2], h[3], h[6], h[7]))
	local snap = shm:to_float (16):array ()
	for i = 1, h[5] do f:write (string.format ("snap %.9g\n", snap[i])) end
	local ev = shm:to_int (16 + 256):array ()
	for i = 0, h[4] - 1 do
		f:write (string.format ("event %d %d %d %d %d\n", ev[5*i+1], ev[5*i+2], ev[5*i+3], ev[5*i+4], ev[5*i+5]))
	end
	f:close ()
	print (string.format ("@export %s events=%d", run, h[4]))
elseif stage == "params" then
	-- non-default parameters for the save/reload check
	local ps = params_of (plug)
	for _, w in ipairs (wanted_params ()) do
		local hit
		for _, p in ipairs (ps) do if string.find (p.label, w.pat) then hit = p; break end end
		if not hit then fail ("no parameter matches " .. w.pat) end
		print (string.format ("@before %s=%.6f", hit.label, to_plain (plug, hit.n, w, hit.value)))
		if not ARDOUR.LuaAPI.set_processor_param (plug, hit.n, to_ardour (plug, hit.n, w, w.value)) then
			fail ("cannot set " .. hit.label)
		end
		print (string.format ("@set %s=%.6f", hit.label, w.value))
	end
	-- Ardour hands a VST3 plugin parameter changes in its next process calls (as the SDK
	-- prescribes); the plugin's own state, which the session also saves, has them only after
	-- that, so let the engine run a few cycles before saving (a DAW's engine always runs).
	ARDOUR.LuaAPI.usleep (300000)
	s:save_state ("", false, false, false, false, false)
elseif stage == "reopen" then
	local ps = params_of (plug)
	for _, w in ipairs (wanted_params ()) do
		for _, p in ipairs (ps) do
			if string.find (p.label, w.pat) then
				print (string.format ("@got %s=%.6f", p.label, to_plain (plug, p.n, w, p.value))); break
			end
		end
	end
end
close_session ()
print ("@done " .. stage)
quit ()
