# Self-test of run_compare.sh (not a real program): the output depends on whether LD_PRELOAD is
# set, so the driver MUST report a difference (CTest requires the mismatch report, which proves
# that a mismatch is detected rather than silently normalised away).
if [ -n "${LD_PRELOAD:-}" ]; then echo "LD_PRELOAD is set"; else echo "LD_PRELOAD is unset"; fi
