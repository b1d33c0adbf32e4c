from academy_common.service import run
from meet_fetcher.app import build

run(build)
