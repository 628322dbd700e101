# One image for every service of the patient graph; docker-compose.yml picks the entrypoint.
FROM node:20.20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY lib lib
COPY gateway gateway
COPY subgraphs subgraphs
COPY schema schema
COPY bench bench
RUN npm run build && npm prune --omit=dev

FROM node:20.20-bookworm-slim
ENV NODE_ENV=production HOST=0.0.0.0
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/dist dist
COPY subgraphs subgraphs
COPY schema/supergraph.graphql schema/gateway.json schema/
# The node image's unprivileged user (uid 1000). The files above stay root's: it reads the code
# and cannot change it; the services keep their state in Redis, not on the image's disk.
USER node
EXPOSE 4000
CMD ["node", "dist/gateway/src/main.js"]
