# syntax=docker/dockerfile:1
#
# zproxy container image.
#
#   docker build -t zproxy .
#   docker run --rm --cpus=2 -p 8080:8080 -p 127.0.0.1:9901:9901 \
#     -e ZPROXY_ADMIN_TOKEN="$(openssl rand -hex 32)" zproxy
#
# Config: /etc/zproxy/zproxy.json (the image ships deploy/docker/zproxy.json
# there: proxy on 0.0.0.0:8080 in front of the built-in demo upstream, admin on
# 0.0.0.0:9901). Mount your own folder over /etc/zproxy, read-only:
#   -v "$PWD/my-zproxy:/etc/zproxy:ro"     (it must contain zproxy.json)
# Mount the folder rather than the single file: a bind-mounted file keeps the
# inode it was mounted with, so an editor that replaces the file on the host
# would leave SIGHUP reloading the old contents.
#
# ZPROXY_ADMIN_TOKEN (required by the shipped config): a probe from outside the
# container (Docker port mapping, Kubernetes) needs the admin listener on
# 0.0.0.0, and zproxy refuses a non-loopback admin without a bearer token. The
# config reads it as "${ZPROXY_ADMIN_TOKEN}"; unset, zproxy refuses to start
# and says so. `zproxy reload|stop|top` inside the container pick it up too.
#
# Signals: `docker kill -s HUP` reloads the config; `docker stop` sends SIGTERM
# (STOPSIGNAL below) and zproxy drains for server.timeouts.drainMs, then exits 0.
# Docker's default stop timeout is 10 s, so the shipped config drains for 8 s;
# with a longer drainMs pass `docker run --stop-timeout` (compose:
# stop_grace_period) larger than it.
#
# The build steps live in scripts/build-runtime-tree.sh, which CI also runs
# outside Docker (test/deploy/runtime-tree.test.ts): what the image holds is
# what the tests started.

ARG NODE_IMAGE=node:20-bookworm-slim

# ---- build: full install, compile, assemble /opt/zproxy with production dependencies only
FROM ${NODE_IMAGE} AS build
WORKDIR /src
# Lockfile first: this layer is reused until dependencies change.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN bash scripts/build-runtime-tree.sh /opt/zproxy

# ---- runtime: node, the tree and the config; no compiler, no dev dependencies
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
# A fixed numeric uid/gid: Kubernetes' runAsNonRoot can verify it, and files
# on mounted volumes get predictable owners. Not 1000 (the image's own "node").
RUN groupadd --system --gid 10001 zproxy \
 && useradd --system --uid 10001 --gid zproxy --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin zproxy
# Owned by root and not writable by zproxy: the proxy cannot modify its own code or config.
COPY --from=build /opt/zproxy /opt/zproxy
COPY deploy/docker/zproxy.json /etc/zproxy/zproxy.json
USER 10001:10001
WORKDIR /opt/zproxy
EXPOSE 8080 9901
STOPSIGNAL SIGTERM
# Slim images have no curl: node's fetch asks /healthz, with the token when one is set.
# The same command is the Kubernetes liveness probe (deploy/kubernetes/deployment.yaml).
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
  CMD ["node", "-e", "const t=process.env.ZPROXY_ADMIN_TOKEN;fetch('http://127.0.0.1:9901/healthz',{headers:t?{authorization:'Bearer '+t}:{},signal:AbortSignal.timeout(2000)}).then(r=>process.exit(r.status===200?0:1),()=>process.exit(1))"]
ENTRYPOINT ["node", "/opt/zproxy/bin/zproxy.js"]
CMD ["start", "-c", "/etc/zproxy/zproxy.json", "--workers=auto"]
