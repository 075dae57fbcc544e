# promfleet: one image for every role (ingress, worker, all, migrate, dead-letters).
#   docker build -t promfleet:0.1.0 .
#   docker run --rm promfleet:0.1.0 --help
# The tag follows package.json's version; docker-compose.yml and infra/k8s use the same name
# (a test checks it).

# --- build: compile TypeScript with the dev dependencies ---
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
# Install scripts are left out: the only native add-ons are optional (msgpackr-extract falls
# back to JavaScript) or belong to test tooling.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY bench ./bench
COPY scripts ./scripts
RUN npm run build

# --- deps: production dependencies only ---
FROM node:20-bookworm-slim AS deps
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# --- runtime: compiled code, production modules, an unprivileged user ---
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /opt/promfleet
COPY --from=deps /src/node_modules ./node_modules
COPY --from=build /src/dist/src ./dist/src
COPY package.json ./
COPY bin ./bin
RUN chmod 0755 bin/promfleet.js && ln -s /opt/promfleet/bin/promfleet.js /usr/local/bin/promfleet \
  && groupadd --system --gid 10001 promfleet \
  && useradd --system --uid 10001 --gid promfleet --home-dir /nonexistent --shell /usr/sbin/nologin promfleet
# Numeric, so Kubernetes' runAsNonRoot can verify it.
USER 10001:10001
# The default --web.listen-address: remote write/read, /metrics, /healthz, /readyz.
EXPOSE 9201
ENTRYPOINT ["promfleet"]
CMD ["--help"]
