# The image deploy/daemonset.yaml and deploy/sidecar.yaml run:
#
#   docker build -t runway-bpfd:$(cat VERSION) .
#
# The build stage compiles the BPF programs against the build host's kernel
# BTF (/sys/kernel/btf/vmlinux; any kernel with BTF will do): CO-RE relocates
# them to each node's kernel when the daemon loads them.

FROM debian:bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev libmicrohttpd-dev make gcc libc6-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Makefile VERSION ./
COPY bpf/ bpf/
COPY include/ include/
COPY src/ src/
RUN make build/runway-bpfd

# Runtime libraries only: what build/runway-bpfd links against.
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libbpf1 libelf1 zlib1g libmicrohttpd12 \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/build/runway-bpfd /usr/local/bin/runway-bpfd
# For the sidecar: the cgroup of the pod it runs in.
COPY scripts/pod-cgroup.sh /usr/local/bin/pod-cgroup.sh
ENTRYPOINT ["/usr/local/bin/runway-bpfd"]
CMD ["--kubernetes"]
