// The cache store: snapshots stay valid and unchanged while the writer moves on.

#include "operator/store.h"

#include <catch2/catch.hpp>

using weft::op::ObjectKey;
using weft::op::Store;

TEST_CASE("store: readers keep their snapshot and replace swaps everything at once", "[store]") {
  Store<int> store;
  CHECK_FALSE(store.synced());
  store.upsert({"a", "x"}, std::make_shared<const int>(1));
  auto before = store.snapshot();
  store.upsert({"a", "y"}, std::make_shared<const int>(2));
  store.erase({"a", "x"});
  CHECK(before->size() == 1);
  CHECK(*before->at({"a", "x"}) == 1);
  auto after = store.snapshot();
  CHECK(after->size() == 1);
  CHECK(*after->at({"a", "y"}) == 2);

  Store<int>::Map all;
  all[{"b", "p"}] = std::make_shared<const int>(3);
  all[{"c", "q"}] = std::make_shared<const int>(4);
  store.replace(std::move(all));
  CHECK(store.synced());
  CHECK(after->size() == 1);  // untouched
  auto replaced = store.snapshot();
  CHECK(replaced->size() == 2);
  CHECK_FALSE(replaced->contains({"a", "y"}));
}

TEST_CASE("store: objects of one namespace, in name order", "[store]") {
  Store<int> store;
  Store<int>::Map all;
  all[{"a", "z"}] = std::make_shared<const int>(1);
  all[{"ab", "a"}] = std::make_shared<const int>(2);
  all[{"b", "b"}] = std::make_shared<const int>(3);
  all[{"b", "a"}] = std::make_shared<const int>(4);
  store.replace(std::move(all));
  auto in_b = weft::op::in_namespace<int>(*store.snapshot(), "b");
  REQUIRE(in_b.size() == 2);
  CHECK(*in_b[0] == 4);
  CHECK(*in_b[1] == 3);
  CHECK(weft::op::in_namespace<int>(*store.snapshot(), "a").size() == 1);
  CHECK(weft::op::in_namespace<int>(*store.snapshot(), "none").empty());
}
