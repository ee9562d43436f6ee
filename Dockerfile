# facerec server image, for k8s/ (image name `facerec`). Not built on the
# project's build machines (they have no Docker engine); CI checks the same
# `npm ci` + `npm test` path on a clean clone.
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
RUN npm ci && npm prune --omit=dev && rm -rf models/.cache test/photos

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
USER node
VOLUME /data
EXPOSE 50051 8080 9464
ENTRYPOINT ["node", "bin/facerec.js"]
CMD ["serve"]
