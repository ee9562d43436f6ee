# facerec server image, for k8s/ (image name `facerec`): `facerec serve` by
# default, and `facerec ingest …` for the ingest Job (k8s/ingest). Not built
# on the project's build machines (they have no Docker engine); CI checks the
# same `npm ci` + `npm test` path on a clean clone.
#
#   docker build -t facerec:0.1.0 .
#   docker run -p 50051:50051 -p 8080:8080 -p 9464:9464 -v facerec-data:/data facerec:0.1.0

FROM node:20-bookworm-slim AS build
WORKDIR /app
# git-free build: npm ci fetches the model package (npm pack), checks its
# integrity and sha256s, derives the models, generates code and compiles.
COPY . .
# The base image's npm 10 does not read package.json's allowScripts; this
# keeps onnxruntime-node's install script from downloading CUDA libraries.
ENV ONNXRUNTIME_NODE_INSTALL=skip
RUN npm ci
# What the runtime stage takes: production dependencies only. That includes
# the ingest sources' readers (hyparquet, pg, pg-query-stream, cli-progress),
# which `facerec ingest` loads in the same image. The ffmpeg binary that
# camera sources use (@ffmpeg-installer, an optional dependency, 66 MB on
# linux-x64) is not for the server, so it is removed by name; the code loads
# it only on demand (test/runtime-deps.test.ts). Not `--omit=optional`: that
# would also drop sharp's platform packages (@img/sharp-linux-*, optional
# dependencies of sharp) and leave sharp unable to load.
RUN npm prune --omit=dev \
 && rm -rf node_modules/@ffmpeg-installer \
 && rm -rf models/.cache test/photos

FROM node:20-bookworm-slim
ENV NODE_ENV=production DATA_DIR=/data
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/bin ./bin
COPY --from=build /app/dist ./dist
COPY --from=build /app/proto ./proto
COPY --from=build /app/models ./models
COPY --from=build /app/envoy/descriptor.pb ./envoy/descriptor.pb
RUN mkdir -p /data && chown node:node /data
# uid 1000: the runAsUser of the k8s manifests.
USER node
VOLUME /data
EXPOSE 50051 8080 9464
# node is PID 1 and handles SIGTERM itself (drain, then exit).
ENTRYPOINT ["node", "bin/facerec.js"]
CMD ["serve"]
