from academy_common.service import run
from scheduler.app import build

run(build)
