from academy_common.service import run
from billing.app import build

run(build)
