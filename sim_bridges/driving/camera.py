"""Offscreen rendering of the front camera (mono8) and the top-down privileged view (rgb8).

Uses ``mujoco.Renderer`` with the fast settings from platform.md (no multisampling, no
shadows, no reflections): at 64x64 this renders several hundred frames per second on a
CPU with Mesa's EGL. ``MUJOCO_GL=egl`` is set by ``sim_bridges.driving`` before MuJoCo is
imported (unless the caller chose another backend).
"""

from __future__ import annotations

import atexit
import os
import sys
import weakref

import mujoco
import numpy as np

# ITU-R BT.601 luma weights in 1/256 units: integer arithmetic keeps frames bit-identical.
_LUMA = np.array([77, 150, 29], np.uint32)


def ensure_headless_gl() -> None:
    """Use EGL when MUJOCO_GL asks for it but MuJoCo was imported before the variable was set.

    MuJoCo picks its OpenGL backend once, when it is first imported. If another module
    imported it before ``sim_bridges.driving`` set ``MUJOCO_GL=egl``, the backend is GLFW,
    which needs a display; on a headless Linux machine we switch the binding to EGL instead.
    """
    if not sys.platform.startswith("linux") or os.environ.get("DISPLAY"):
        return
    if os.environ.get("MUJOCO_GL", "").lower() != "egl":
        return
    from mujoco.rendering.classic import gl_context

    current = getattr(gl_context, "GLContext", None)
    if current is None or current.__module__.startswith("mujoco.glfw"):
        from mujoco.egl import GLContext

        gl_context.GLContext = GLContext


def apply_fast_render_settings(model: mujoco.MjModel) -> None:
    """Turn off the expensive rendering features; must run before the first render."""
    model.vis.quality.offsamples = 0
    model.light_castshadow[:] = 0
    model.mat_reflectance[:] = 0


def rgb_to_mono(rgb: np.ndarray) -> np.ndarray:
    """HxWx3 uint8 -> HxWx1 uint8 grayscale (rounded integer BT.601 luma)."""
    luma = (rgb.astype(np.uint32) @ _LUMA + 128) >> 8
    return luma.astype(np.uint8)[..., None]


def _close_all(renderers: list[mujoco.Renderer]) -> None:
    while renderers:
        renderers.pop().close()


_OPEN_FINALIZERS: list[weakref.finalize] = []
_exit_hook_registered = False


def _close_open_at_exit() -> None:
    while _OPEN_FINALIZERS:
        _OPEN_FINALIZERS.pop()()


def _close_before_egl_terminates(finalizer: weakref.finalize) -> None:
    """Close the contexts at exit before MuJoCo's own atexit hook terminates the EGL display.

    MuJoCo registers ``eglTerminate`` when it creates its first context; atexit runs hooks last
    registered first, so a hook registered after that runs before it. weakref's own exit hook may
    have been registered earlier (by any library), and then a camera not closed by its owner
    would print an EGL_NOT_INITIALIZED traceback per context at interpreter exit.
    """
    global _exit_hook_registered
    _OPEN_FINALIZERS[:] = [f for f in _OPEN_FINALIZERS if f.alive]
    _OPEN_FINALIZERS.append(finalizer)
    if not _exit_hook_registered:
        atexit.register(_close_open_at_exit)
        _exit_hook_registered = True


class SceneCameras:
    """The front camera (ego's view, no ego body or markers) and the top-down view (everything)."""

    def __init__(self, model: mujoco.MjModel, front_size: tuple[int, int], top_size: tuple[int, int]) -> None:
        ensure_headless_gl()
        apply_fast_render_settings(model)
        self._model = model
        self._front = mujoco.Renderer(model, height=front_size[1], width=front_size[0])
        self._top: mujoco.Renderer | None = None
        # Free the GL contexts at garbage collection or interpreter exit, while EGL is still loaded
        # (a Renderer left to its own __del__ at shutdown raises EGLError noise).
        self._renderers = [self._front]
        self._finalizer = weakref.finalize(self, _close_all, self._renderers)
        _close_before_egl_terminates(self._finalizer)
        self._top_size = top_size
        self._front_opt = mujoco.MjvOption()
        self._front_opt.geomgroup[:] = [1, 1, 1, 0, 0, 0]
        self._top_opt = mujoco.MjvOption()
        self._top_opt.geomgroup[:] = 1
        self._front_cam = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_CAMERA, "front")
        self._top_cam = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_CAMERA, "top")

    def front_mono(self, data: mujoco.MjData) -> np.ndarray:
        """The ego's grayscale camera frame, HxWx1 uint8."""
        self._front.update_scene(data, camera=self._front_cam, scene_option=self._front_opt)
        return rgb_to_mono(self._front.render())

    def front_rgb(self, data: mujoco.MjData) -> np.ndarray:
        """The ego's camera in colour (for docs pictures)."""
        self._front.update_scene(data, camera=self._front_cam, scene_option=self._front_opt)
        return self._front.render().copy()

    def top_rgb(self, data: mujoco.MjData) -> np.ndarray:
        """Top-down RGB view of the whole scene, child included even when hidden from the ego."""
        if self._top is None:  # created lazily: training never needs it
            self._top = mujoco.Renderer(self._model, height=self._top_size[1], width=self._top_size[0])
            self._renderers.append(self._top)
        self._top.update_scene(data, camera=self._top_cam, scene_option=self._top_opt)
        return self._top.render().copy()

    def close(self) -> None:
        self._finalizer()
        self._top = None
