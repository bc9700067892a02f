"""Replaceable hooks behind ctypes trampolines that never die.

The library calls a C function pointer (the log sink, an app's wakeup hook) from its own
threads. A ctypes ``CFUNCTYPE`` object freed while the library may still call it is a
crash, so the binding never frees one: each kind of hook has ONE module-level
trampoline, alive until interpreter exit, and what it calls is a plain Python value
kept in a :class:`HookSlot`. Replacing a hook replaces that value (released by the
ordinary reference counting: a call still running keeps its own reference) and installs
the trampoline or NULL with the native call.

Replacing is serialized without a Python lock held across the native call: the native
call waits for running calls of the old hook to return, and such a call may itself
replace the hook. One thread at a time applies the latest requested value (the
"applier"); a concurrent request waits for the applier to apply it (or a later one),
except a request made from inside the hook's own trampoline on this thread, which is
left to the applier and returns at once (the applier may be waiting for that very
call to return).
"""

from __future__ import annotations

import threading
from typing import Callable, Generic, Optional, TypeVar

T = TypeVar("T")


class HookSlot(Generic[T]):
    """The current value of one hook, and the serialized native replacement of it.

    ``apply(value)`` is the native call (raising on failure); it receives the value to
    install, ``None`` meaning "no hook" (install NULL).
    """

    def __init__(self, apply: Callable[[Optional[T]], None]) -> None:
        self._apply = apply
        self._cond = threading.Condition(threading.Lock())
        self._requested = 0  # sequence number of the latest request
        self._desired: Optional[T] = None
        self._applied = 0  # sequence number of the latest request applied natively
        self._applying = False
        self._installed: Optional[T] = None  # what the native side has, as far as we know
        self._inside = threading.local()
        #: What the trampoline calls; read without a lock (one attribute load).
        self.current: Optional[T] = None

    # -- the trampoline side ----------------------------------------------------------

    def enter(self) -> Optional[T]:
        """Called by the trampoline when the library calls it: marks this thread as
        inside the hook and returns the value to call."""
        self._inside.depth = getattr(self._inside, "depth", 0) + 1
        return self.current

    def leave(self) -> None:
        """Called by the trampoline before it returns to the library."""
        self._inside.depth -= 1

    def inside(self) -> bool:
        """True on a thread that is inside this hook's trampoline."""
        return getattr(self._inside, "depth", 0) > 0

    # -- replacing ----------------------------------------------------------------------

    def replace(self, value: Optional[T]) -> None:
        """Makes ``value`` the hook (None: no hook).

        Returns once it (or a later request) is installed, so the old value is no longer
        running on another thread and will not be called again. Called from inside the
        trampoline while another thread is replacing the hook, it returns at once and the
        replacing thread installs it. Raises what ``apply`` raises."""
        inside = self.inside()
        with self._cond:
            self._requested += 1
            seq = self._requested
            self._desired = value
            while self._applying:
                if inside:
                    return  # the applier may be waiting for our caller to return
                self._cond.wait()
            if self._applied >= seq:
                return  # installed by the applier (ours or a later request)
            self._applying = True
        try:
            while True:
                with self._cond:
                    seq, value = self._requested, self._desired
                # Published before the native call: a call of the trampoline in between
                # already gets the new value (or nothing), never one being replaced.
                self.current = value
                self._apply(value)
                with self._cond:
                    self._installed = value
                    self._applied = seq
                    self._cond.notify_all()
                    if self._requested == seq:
                        self._applying = False
                        return
        except BaseException:
            with self._cond:
                self.current = self._installed
                self._applying = False
                self._cond.notify_all()
            raise

    @property
    def installed(self) -> Optional[T]:
        """The value the native side was last given successfully (None: no hook)."""
        return self._installed

    def forget(self) -> None:
        """Drops the value without a native call (the native side is gone: app freed)."""
        with self._cond:
            self.current = self._installed = self._desired = None
