"""torchaudio.compliance.kaldi for the reference tests.

`import torchaudio` fails when its compiled extension was built for another CUDA version than
the installed torch (torchaudio 2.11 is the newest release; torch 2.15 wheels use CUDA 13.2).
compliance/kaldi.py itself is pure PyTorch, so on that failure it is loaded straight from the
installed torchaudio package, with a stand-in `torchaudio` module (kaldi.py only uses it for mfcc).
"""

import importlib.util
import os
import sys
import types


def load_kaldi():
    try:
        import torchaudio.compliance.kaldi as kaldi  # noqa: F401

        return kaldi
    except Exception:  # noqa: BLE001 - any import failure of the compiled part
        pass
    spec = importlib.util.find_spec("torchaudio")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("torchaudio is not installed")
    path = os.path.join(list(spec.submodule_search_locations)[0], "compliance", "kaldi.py")
    saved = sys.modules.get("torchaudio")
    sys.modules["torchaudio"] = types.ModuleType("torchaudio")
    try:
        kspec = importlib.util.spec_from_file_location("_torchaudio_compliance_kaldi", path)
        mod = importlib.util.module_from_spec(kspec)
        kspec.loader.exec_module(mod)
    finally:
        if saved is None:
            sys.modules.pop("torchaudio", None)
        else:
            sys.modules["torchaudio"] = saved
    return mod
