"""Simulated devices, so everything runs with no hardware.

Module-level instances mirror ``ophyd.sim``: ``motor``, ``motor1``–``motor3``, ``det``,
``det1``–``det4``, ``noisy_det``, the camera ``img`` (frames in HDF5 files, resource/datum
documents) and ``direct_img`` (frames inside events). Make your own with the classes.
"""

from livescan.sim._camera import SimCamera, default_data_root
from livescan.sim._detectors import SynGauss, SynGauss2D
from livescan.sim._motor import SimMotor
from livescan.sim._status import SimStatus

__all__ = [
    "SimCamera",
    "SimMotor",
    "SimStatus",
    "SynGauss",
    "SynGauss2D",
    "default_data_root",
    "det",
    "det1",
    "det2",
    "det3",
    "det4",
    "direct_img",
    "img",
    "motor",
    "motor1",
    "motor2",
    "motor3",
    "noisy_det",
]

motor = SimMotor("motor")
motor1 = SimMotor("motor1")
motor2 = SimMotor("motor2")
motor3 = SimMotor("motor3")

det = SynGauss("det", motor, center=0, Imax=1, sigma=1)
det1 = SynGauss("det1", motor1, center=0, Imax=5, sigma=0.5)
det2 = SynGauss("det2", motor2, center=1, Imax=2, sigma=2)
det3 = SynGauss("det3", motor3, center=-1, Imax=2, sigma=1)
noisy_det = SynGauss(
    "noisy_det", motor, center=0, Imax=1, sigma=1, noise="uniform", noise_multiplier=0.1
)
det4 = SynGauss2D("det4", motor1, motor2, center=(0, 0), Imax=1, sigma=1)

img = SimCamera("img", shape=(64, 64), motors=(motor1, motor2), external=True)
direct_img = SimCamera("direct_img", shape=(64, 64), motors=(motor1, motor2), external=False)
