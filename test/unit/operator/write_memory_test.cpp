// The write-skipping memory: a write counts as current until the cache shows
// a newer version, never while nothing is cached; entries go with their objects.

#include "operator/write_memory.h"

#include <catch2/catch.hpp>

using weft::op::WriteMemory;

TEST_CASE("write memory: a write is current until the cache moves on", "[memory]") {
  WriteMemory memory;
  CHECK_FALSE(memory.written("shop", "ConfigMap", "5", "h1"));
  memory.remember("shop", "ConfigMap", "5", "h1");
  CHECK(memory.written("shop", "ConfigMap", "5", "h1"));
  CHECK_FALSE(memory.written("shop", "ConfigMap", "5", "h2"));  // another document
  CHECK_FALSE(memory.written("shop", "ConfigMap", "6", "h1"));  // the cache moved on
  CHECK_FALSE(memory.written("other", "ConfigMap", "5", "h1"));
}

TEST_CASE("write memory: nothing cached means write again", "[memory]") {
  WriteMemory memory;
  memory.remember("shop", "Role", "", "rules");
  // Created by us, then deleted by someone: the cache is empty again.
  CHECK_FALSE(memory.written("shop", "Role", "", "rules"));
}

TEST_CASE("write memory: statuses are kept only for objects that exist", "[memory]") {
  WriteMemory memory;
  memory.remember("shop", "ConfigMap", "1", "h");
  memory.remember("shop", WriteMemory::status_object("u1"), "1", "s");
  memory.remember("shop", WriteMemory::status_object("u2"), "1", "s");
  memory.remember("cart", WriteMemory::status_object("u3"), "1", "s");
  memory.retain_statuses("shop", {"u2"});
  CHECK(memory.size("shop") == 2);
  CHECK(memory.written("shop", WriteMemory::status_object("u2"), "1", "s"));
  CHECK_FALSE(memory.written("shop", WriteMemory::status_object("u1"), "1", "s"));
  CHECK(memory.size("cart") == 1);  // other namespaces untouched

  memory.forget_namespace("shop");
  CHECK(memory.size() == 1);
  memory.retain_statuses("cart", {});
  CHECK(memory.size() == 0);
}

TEST_CASE("write memory: too large is reported once until it fits again", "[memory]") {
  WriteMemory memory;
  CHECK(memory.mark_too_large("shop"));
  CHECK_FALSE(memory.mark_too_large("shop"));
  memory.clear_too_large("shop");
  CHECK(memory.mark_too_large("shop"));
  memory.forget_namespace("shop");
  CHECK(memory.mark_too_large("shop"));
}
