#!/bin/sh
# Run by the official nginx image's entrypoint before nginx starts (executable *.sh in /docker-entrypoint.d/).
set -eu
exec /etc/nginx/mediapipe/render.sh /etc/nginx/mediapipe/mediapipe.conf.template /etc/nginx/conf.d/mediapipe.conf
