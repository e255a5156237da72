# syntax=docker/dockerfile:1
# Herald's image: one image for every role (`edge`, `worker`, `all`), the role is the argument.
#   docker build -t herald .
#   docker run --rm -e REDIS_URL=redis://redis:6379 -e HERALD_JWT_SECRET=... -e HERALD_API_KEYS=... herald edge
#
# Debian (glibc), not Alpine: uWebSockets.js ships glibc binaries only, and Herald refuses to
# run on its JavaScript fallback. Keep the Node major at 20 (the binary is built per ABI).
ARG NODE_IMAGE=node:20.20.2-bookworm-slim

# 1. build: every dependency, dev ones included; `npm ci` runs the root `prepare` (tsc -b).
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json .npmrc tsconfig.json tsconfig.base.json ./
COPY packages ./packages
RUN npm ci --no-audit --no-fund \
  && test -f packages/cli/dist/main.js

# 2. production dependencies only, beside the compiled packages; sources and build files go.
FROM build AS prod
RUN rm -rf node_modules \
  && npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
  && rm -rf packages/*/src packages/*/test packages/*/tsconfig*.json packages/testkit node_modules/@herald/testkit \
  && npm cache clean --force

# 3. runtime: tini as PID 1 (signals reach Node, zombies are reaped), non-root, nothing written
# outside /tmp, so a read-only root filesystem works.
FROM ${NODE_IMAGE} AS runtime
RUN apt-get update \
  && apt-get install -y --no-install-recommends tini=0.19.* \
  && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production \
  HERALD_DEV=0
WORKDIR /app
COPY --from=prod /app /app
# The uWS native binary must load here, at build time, not only at start-up.
RUN node -e "require('uWebSockets.js'); if (!Object.keys(require.cache).some((p) => p.endsWith('.node'))) { console.error('uWebSockets.js native binary did not load'); process.exit(1); }" \
  && ln -s /app/packages/cli/bin/herald.js /usr/local/bin/herald
USER 10001:10001
EXPOSE 8080 9464 9465
ENTRYPOINT ["/usr/bin/tini", "--", "node", "/app/packages/cli/bin/herald.js"]
CMD ["edge"]
