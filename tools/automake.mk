# tools/: scripts a user or developer runs (not built, distributed).
dist_noinst_SCRIPTS += \
	tools/bench \
	tools/bench-offload \
	tools/install-bench-deps.sh
