# jetkube on Debian bookworm's python3 (3.11), installed offline from wheels fetched on the host.
# Dependencies and source are separate stages: a source change rebuilds only the small last layers.
ARG BASE=jetkube/testbed-base:bookworm

FROM ${BASE} AS deps
COPY wheels/ /wheels/
RUN python3 /wheels/pip.whl/pip install --quiet --no-index --find-links /wheels \
      --break-system-packages --no-warn-script-location --root /staging -r /wheels/requirements.txt

FROM deps AS source
COPY dist/ /dist/
RUN python3 /wheels/pip.whl/pip install --quiet --no-index --no-deps \
      --break-system-packages --no-warn-script-location --root /staging-src /dist/*.whl

FROM ${BASE}
COPY --from=deps /staging/ /
COPY --from=source /staging-src/ /
ENV PYTHONUNBUFFERED=1
ENTRYPOINT ["jetkube"]
CMD ["--help"]
