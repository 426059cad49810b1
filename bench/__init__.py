"""Filecast's benchmark suite: Filecast side by side with nginx, curl, http.server and co.

Run ``python3 bench/run.py [--quick|--smoke] [--only SECTION]``; see bench/README.md.
"""
