from academy_common.service import run
from attendance.app import build

run(build)
