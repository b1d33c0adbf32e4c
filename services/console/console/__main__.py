from academy_common.service import run
from console.app import build

run(build)
