# veil: top-level build.
#
#   make                 kernel module (for KVER) and userspace, warning-free
#   make check           install test dependencies, build, run every test
#   make demo            install dependencies, boot a throwaway VM, show veil
#   make install         module into /lib/modules/KVER/updates, programs into PREFIX
#   make clean
#
# KVER defaults to the running kernel when its headers are installed, else
# to the newest kernel whose headers are (the build host may run another).

VERSION		:= 0.1.0
PREFIX		?= /usr/local
DESTDIR		?=
KVER		?= $(shell scripts/kver)
KDIR		?= /lib/modules/$(KVER)/build

CC		?= cc
CFLAGS		?= -O2 -g
CFLAGS		+= -std=gnu11 -Wall -Wextra -Wformat=2 -Wno-format-nonliteral \
		   -Wshadow -Wstrict-prototypes -Wmissing-prototypes -D_GNU_SOURCE \
		   -DVEIL_VERSION='"$(VERSION)"' -Iinclude/uapi -Iuserspace/lib
PKGS		:= libmnl json-c openssl libprotobuf-c sqlite3 libsystemd
PKG_CFLAGS	:= $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS	:= -Wl,--as-needed $(shell pkg-config --libs $(PKGS) 2>/dev/null)

B		:= build
LIB_SRC		:= $(wildcard userspace/lib/*.c)
CLI_SRC		:= $(wildcard userspace/cli/*.c)
LIB_OBJ		:= $(LIB_SRC:%.c=$(B)/%.o)
CLI_OBJ		:= $(CLI_SRC:%.c=$(B)/%.o)
# Control plane: the protocol (userspace/ctl/veil.proto, compiled by protoc-c
# into $(B)/gen), its client library, and the controller.
PROTO		:= $(wildcard userspace/ctl/veil.proto)
GEN_H		:= $(if $(PROTO),$(B)/gen/veil.pb-c.h)
GEN_OBJ		:= $(if $(PROTO),$(B)/gen/veil.pb-c.o)
CTL_SRC		:= $(wildcard userspace/ctl/*.c)
CTL_OBJ		:= $(CTL_SRC:%.c=$(B)/%.o) $(GEN_OBJ)
SRV_SRC		:= $(filter-out userspace/controller/main.c,$(wildcard userspace/controller/*.c))
SRV_OBJ		:= $(SRV_SRC:%.c=$(B)/%.o)
PROGS		:= $(B)/veil $(if $(wildcard userspace/controller/main.c),$(B)/veil-controller)
TEST_PROGS	:= $(B)/tests/nl_policy $(B)/tests/nl_fuzz $(B)/tests/veil_sockfd $(B)/tests/veil_dnsd
# Unit tests: tests/unit/*_test.c (module files), tests/controller/*_test.c
# (linked with the controller's objects).
UNIT_SRC	:= $(wildcard tests/unit/*_test.c)
CUNIT_SRC	:= $(wildcard tests/controller/*_test.c)
UNIT_PROGS	:= $(UNIT_SRC:tests/unit/%.c=$(B)/tests/unit/%) \
		   $(CUNIT_SRC:tests/controller/%.c=$(B)/tests/unit/%)

.SECONDARY:
.PHONY: all module userspace selftests unit check demo bench bench-tunnel bench-dns \
	bench-controller install install-module install-user clean deps
all: module userspace

module:
	@test -d "$(KDIR)" || { echo "No kernel headers in $(KDIR): run scripts/deps as root," \
		"or install linux-headers-$(KVER)." >&2; exit 1; }
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

userspace: $(PROGS)

$(B)/%.o: %.c $(wildcard userspace/*/*.h) include/uapi/linux/veil.h $(GEN_H) tests/unit/ktap.h
	@mkdir -p $(dir $@)
	@pkg-config --exists $(PKGS) || { echo "Missing $(PKGS) development files:" \
		"run scripts/deps as root." >&2; exit 1; }
	$(CC) $(CFLAGS) -Iuserspace/ctl -Iuserspace/controller -I$(B)/gen -Itests/unit $(PKG_CFLAGS) -c -o $@ $<

$(B)/gen/veil.pb-c.c $(B)/gen/veil.pb-c.h: $(PROTO)
	@mkdir -p $(B)/gen
	protoc-c --proto_path=userspace/ctl --c_out=$(B)/gen $<

# Generated code: built with the project's flags minus the prototype checks.
$(B)/gen/veil.pb-c.o: $(B)/gen/veil.pb-c.c $(B)/gen/veil.pb-c.h
	$(CC) $(filter-out -Wmissing-prototypes -Wstrict-prototypes,$(CFLAGS)) \
		$(PKG_CFLAGS) -I$(B)/gen -c -o $@ $<

$(B)/libveilctl.a: $(CTL_OBJ)
	$(AR) rcs $@ $^

$(B)/veil-controller: $(B)/userspace/controller/main.o $(SRV_OBJ) $(B)/libveilctl.a $(B)/libveil.a
	$(CC) $(CFLAGS) -o $@ $^ $(PKG_LIBS)

$(B)/libveil.a: $(LIB_OBJ)
	$(AR) rcs $@ $^

$(B)/veil: $(CLI_OBJ) $(B)/libveilctl.a $(B)/libveil.a
	$(CC) $(CFLAGS) -o $@ $^ $(PKG_LIBS)

selftests: $(TEST_PROGS)

# Unit tests build the module's plain-C files (kmod/replay.c, kmod/dnswire.c)
# for userspace.
unit: $(UNIT_PROGS)

$(B)/tests/unit/replay_test: tests/unit/replay_test.c kmod/replay.c kmod/replay.h tests/unit/ktap.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Ikmod -Itests/unit -o $@ tests/unit/replay_test.c kmod/replay.c

$(B)/tests/unit/dnswire_test: tests/unit/dnswire_test.c kmod/dnswire.c kmod/dnswire.h tests/unit/ktap.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Ikmod -Itests/unit -o $@ tests/unit/dnswire_test.c kmod/dnswire.c

$(B)/tests/unit/%_test: $(B)/tests/controller/%_test.o $(SRV_OBJ) $(B)/libveilctl.a $(B)/libveil.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(PKG_LIBS)

$(B)/tests/%: $(B)/tests/selftests/%.o $(B)/libveil.a
	$(CC) $(CFLAGS) -o $@ $^ $(PKG_LIBS)

deps:
	scripts/deps

check: deps
	tests/run

demo: deps
	scripts/demo

bench: bench-tunnel bench-dns bench-controller

bench-tunnel: deps
	scripts/bench tunnel

bench-dns: deps
	scripts/bench dns

# The controller on loopback: sessions held, handshakes and resolves per
# second (no VM).
bench-controller: deps
	scripts/bench controller

install: install-module install-user

install-module: module
	install -D -m 0644 kmod/veil.ko $(DESTDIR)/lib/modules/$(KVER)/updates/veil.ko
	@if [ -z "$(DESTDIR)" ]; then depmod -a $(KVER); fi

install-user: userspace
	install -D -m 0755 $(B)/veil $(DESTDIR)$(PREFIX)/sbin/veil
	@if [ -x $(B)/veil-controller ]; then \
		install -D -m 0755 $(B)/veil-controller $(DESTDIR)$(PREFIX)/sbin/veil-controller && \
		install -d $(DESTDIR)/etc/systemd/system && \
		sed 's|@SBINDIR@|$(PREFIX)/sbin|' userspace/systemd/veil-controller.service.in \
			>$(DESTDIR)/etc/systemd/system/veil-controller.service; fi

clean:
	-$(MAKE) -C $(KDIR) M=$(CURDIR) clean >/dev/null 2>&1
	rm -rf $(B)/userspace $(B)/tests $(B)/gen $(B)/libveil.a $(B)/libveilctl.a $(PROGS)

# Control-protocol test client (tests/host/controller.sh, benchmarks).
unit: $(B)/tests/veil-ctl-client

$(B)/tests/veil-ctl-client: $(B)/tests/controller/veil_ctl_client.o $(B)/libveilctl.a $(B)/libveil.a
	$(CC) $(CFLAGS) -o $@ $^ $(PKG_LIBS)

# The query path's cost in the DNS benchmark (tests/bench/dns.sh).
$(B)/tests/dns_send: $(B)/tests/bench/dns_send.o
	$(CC) $(CFLAGS) -o $@ $^

# Load generator of the controller's benchmark (tests/bench/controller.sh).
$(B)/tests/ctl_load: $(B)/tests/bench/ctl_load.o $(B)/libveilctl.a $(B)/libveil.a
	$(CC) $(CFLAGS) -o $@ $^ $(PKG_LIBS)
