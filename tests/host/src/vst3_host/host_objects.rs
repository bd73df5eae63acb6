//! The host's side of a VST3 process call, as COM objects the plugin calls into: an event list,
//! parameter-change queues (one point each, which is all the tests send) and a memory stream for
//! state.

use std::cell::RefCell;
use std::ffi::c_void;
use std::ptr::null_mut;
use vst3::Steinberg::Vst::*;
use vst3::Steinberg::*;
use vst3::{Class, ComWrapper};

#[derive(Default)]
pub struct EventList {
    pub events: RefCell<Vec<Event>>,
}

impl Class for EventList {
    type Interfaces = (IEventList,);
}

impl IEventListTrait for EventList {
    unsafe fn getEventCount(&self) -> int32 {
        self.events.borrow().len() as int32
    }

    unsafe fn getEvent(&self, index: int32, e: *mut Event) -> tresult {
        match self.events.borrow().get(index as usize) {
            Some(ev) if !e.is_null() => {
                // SAFETY: the caller passes a valid Event to fill.
                unsafe { *e = *ev };
                kResultOk
            }
            _ => kInvalidArgument,
        }
    }

    unsafe fn addEvent(&self, e: *mut Event) -> tresult {
        if e.is_null() {
            return kInvalidArgument;
        }
        // SAFETY: checked for null; the plugin passes a valid Event.
        self.events.borrow_mut().push(unsafe { *e });
        kResultOk
    }
}

pub struct ParamValueQueue {
    pub id: ParamID,
    pub point: (i32, f64),
}

impl Class for ParamValueQueue {
    type Interfaces = (IParamValueQueue,);
}

impl IParamValueQueueTrait for ParamValueQueue {
    unsafe fn getParameterId(&self) -> ParamID {
        self.id
    }

    unsafe fn getPointCount(&self) -> int32 {
        1
    }

    unsafe fn getPoint(&self, index: int32, offset: *mut int32, value: *mut ParamValue) -> tresult {
        if index != 0 || offset.is_null() || value.is_null() {
            return kInvalidArgument;
        }
        // SAFETY: checked for null.
        unsafe {
            *offset = self.point.0;
            *value = self.point.1;
        }
        kResultOk
    }

    unsafe fn addPoint(&self, _offset: int32, _value: ParamValue, _index: *mut int32) -> tresult {
        kResultFalse
    }
}

#[derive(Default)]
pub struct ParameterChanges {
    pub queues: RefCell<Vec<ComWrapper<ParamValueQueue>>>,
}

impl Class for ParameterChanges {
    type Interfaces = (IParameterChanges,);
}

impl IParameterChangesTrait for ParameterChanges {
    unsafe fn getParameterCount(&self) -> int32 {
        self.queues.borrow().len() as int32
    }

    unsafe fn getParameterData(&self, index: int32) -> *mut IParamValueQueue {
        self.queues
            .borrow()
            .get(index as usize)
            .and_then(|q| q.as_com_ref::<IParamValueQueue>())
            .map_or(null_mut(), |q| q.as_ptr())
    }

    unsafe fn addParameterData(
        &self,
        _id: *const ParamID,
        _index: *mut int32,
    ) -> *mut IParamValueQueue {
        null_mut()
    }
}

#[derive(Default)]
pub struct MemoryStream {
    pub bytes: RefCell<Vec<u8>>,
    pub at: RefCell<usize>,
}

impl Class for MemoryStream {
    type Interfaces = (IBStream,);
}

impl IBStreamTrait for MemoryStream {
    unsafe fn read(&self, buffer: *mut c_void, n: int32, read: *mut int32) -> tresult {
        let bytes = self.bytes.borrow();
        let mut at = self.at.borrow_mut();
        let k = (n.max(0) as usize).min(bytes.len() - *at);
        // SAFETY: the caller's buffer holds `n` >= `k` bytes.
        unsafe {
            std::ptr::copy_nonoverlapping(bytes[*at..].as_ptr(), buffer as *mut u8, k);
            if !read.is_null() {
                *read = k as int32;
            }
        }
        *at += k;
        kResultOk
    }

    unsafe fn write(&self, buffer: *mut c_void, n: int32, written: *mut int32) -> tresult {
        let n = n.max(0) as usize;
        let mut bytes = self.bytes.borrow_mut();
        let mut at = self.at.borrow_mut();
        bytes.truncate(*at);
        // SAFETY: the caller's buffer holds `n` bytes.
        bytes.extend_from_slice(unsafe { std::slice::from_raw_parts(buffer as *const u8, n) });
        *at += n;
        if !written.is_null() {
            // SAFETY: checked for null.
            unsafe { *written = n as int32 };
        }
        kResultOk
    }

    unsafe fn seek(&self, pos: int64, mode: int32, result: *mut int64) -> tresult {
        let len = self.bytes.borrow().len() as i64;
        let mut at = self.at.borrow_mut();
        let base = match mode as u32 {
            m if m == IBStream_::IStreamSeekMode_::kIBSeekSet => 0,
            m if m == IBStream_::IStreamSeekMode_::kIBSeekCur => *at as i64,
            _ => len,
        };
        *at = (base + pos).clamp(0, len) as usize;
        if !result.is_null() {
            // SAFETY: checked for null.
            unsafe { *result = *at as int64 };
        }
        kResultOk
    }

    unsafe fn tell(&self, pos: *mut int64) -> tresult {
        if pos.is_null() {
            return kInvalidArgument;
        }
        // SAFETY: checked for null.
        unsafe { *pos = *self.at.borrow() as int64 };
        kResultOk
    }
}
