package io.moeflux.pipeline.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.offset;

import org.junit.jupiter.api.Test;

class PlacementTest {

  /** 2 layers, 4 experts, 6 slots on 2 ranks; layer 0 replicates expert 2 and expert 0. */
  private static Placement redundant() {
    return Placement.of(new int[][] {{2, 0, 1, 2, 3, 0}, {0, 1, 2, 3, 3, 3}}, 4, 2, 7L);
  }

  @Test
  void identityPutsExpertIInSlotI() {
    Placement p = Placement.identity(3, 8, 4);
    assertThat(p.layers()).isEqualTo(3);
    assertThat(p.experts()).isEqualTo(8);
    assertThat(p.slots()).isEqualTo(8);
    assertThat(p.ranks()).isEqualTo(4);
    assertThat(p.slotsPerRank()).isEqualTo(2);
    assertThat(p.version()).isZero();
    for (int l = 0; l < 3; l++) {
      for (int e = 0; e < 8; e++) {
        assertThat(p.logicalOf(l, e)).isEqualTo(e);
        assertThat(p.replicas(l, e)).isEqualTo(1);
        assertThat(p.replica(l, e, 0)).isEqualTo(e);
        assertThat(p.slotFor(l, e, 9L, 3, 12345)).isEqualTo(e);
        assertThat(p.share(l, e)).isEqualTo(Placement.SHARE_UNITS);
        assertThat(p.rankOfSlot(e)).isEqualTo(e / 2);
      }
    }
    assertThatThrownBy(() -> Placement.identity(1, 6, 4))
        .hasMessage("slots per layer (6) must be a positive multiple of ranks (4)");
  }

  @Test
  void eightExpertsOnThreeRanksTakeNineSlotsWithOneReplica() {
    Placement p = Placement.withRedundancy(2, 8, 3, 0);
    assertThat(p.slotsPerRank()).isEqualTo(3);
    assertThat(p.phy2log()[0]).containsExactly(0, 1, 2, 2, 3, 4, 5, 6, 7);
    assertThat(p.replicas(1, 2)).isEqualTo(2);
    assertThat(Placement.withRedundancy(1, 8, 3, 2).slotsPerRank()).isEqualTo(4);
    assertThatThrownBy(() -> Placement.withRedundancy(1, 4, 3, 9))
        .hasMessageContaining("need 5 slots per rank on 3 ranks, more than the 4 experts");
  }

  /** Any expert count on any number of ranks: every expert somewhere, none twice on a rank. */
  @Test
  void anyExpertCountOnAnyRanksCoversEveryExpertOncePerRankAtMost() {
    java.util.SplittableRandom random = new java.util.SplittableRandom(5);
    for (int n = 0; n < 500; n++) {
      int ranks = 1 + random.nextInt(9);
      int experts = 1 + random.nextInt(70);
      int redundant = random.nextInt(2 * ranks + 1);
      int perRank = (experts + redundant + ranks - 1) / ranks;
      if (perRank > experts) {
        continue;
      }
      Placement p = Placement.withRedundancy(1, experts, ranks, redundant);
      assertThat(p.slotsPerRank()).isEqualTo(perRank);
      assertThat(p.slots()).isGreaterThanOrEqualTo(experts + redundant);
      for (int r = 0; r < ranks; r++) {
        java.util.Set<Integer> held = new java.util.HashSet<>();
        for (int i = 0; i < perRank; i++) {
          assertThat(held.add(p.logicalOf(0, r * perRank + i))).isTrue();
        }
      }
      if (experts % ranks == 0 && redundant % ranks == 0) {
        // the even case keeps its old layout: own experts first, then the next ranks'
        int own = experts / ranks;
        for (int r = 0; r < ranks; r++) {
          for (int i = 0; i < perRank; i++) {
            assertThat(p.logicalOf(0, r * perRank + i)).isEqualTo((r * own + i) % experts);
          }
        }
      }
    }
  }

  @Test
  void mapsDescribeTheRedundantExperts() {
    Placement p = redundant();
    assertThat(p.slots()).isEqualTo(6);
    assertThat(p.slotsPerRank()).isEqualTo(3);
    assertThat(p.version()).isEqualTo(7L);
    assertThat(p.logcnt()).isDeepEqualTo(new int[][] {{2, 1, 2, 1}, {1, 1, 1, 3}});
    assertThat(p.log2phy())
        .isDeepEqualTo(
            new int[][][] {
              {{1, 5}, {2}, {0, 3}, {4}},
              {{0}, {1}, {2}, {3, 4, 5}}
            });
    assertThat(p.phy2log()).isDeepEqualTo(new int[][] {{2, 0, 1, 2, 3, 0}, {0, 1, 2, 3, 3, 3}});
    assertThat(p.replica(0, 2, 1)).isEqualTo(3);
    assertThat(p.rankOfSlot(2)).isZero();
    assertThat(p.rankOfSlot(3)).isEqualTo(1);
  }

  @Test
  void withoutGivenSharesReplicasShareEqually() {
    Placement p = redundant();
    // layer 1: expert 3 in slots 3, 4, 5: 256 = 86 + 85 + 85, the first replica one unit more
    assertThat(p.shares()[1]).containsExactly(256, 256, 256, 86, 85, 85);
    assertThat(p.shares()[0]).containsExactly(128, 128, 256, 128, 256, 128);
  }

  @Test
  void picksFollowTheSharesAndEveryRankComputesTheSame() {
    int[][] map = {{0, 1, 2, 0, 3, 0}};
    int[][] shares = {{200, 256, 256, 0, 256, 56}};
    Placement p = Placement.of(map, shares, 4, 2, 1L);
    int[] hits = new int[6];
    int picks = 100_000;
    for (int t = 0; t < picks; t++) {
      int slot = p.slotFor(0, 0, 17L, t % 2, t / 2);
      assertThat(slot).isEqualTo(p.slotFor(0, 0, 17L, t % 2, t / 2));
      hits[slot]++;
    }
    assertThat(hits[3]).as("a replica with no share gets no token").isZero();
    assertThat(hits[0] / (double) picks).isCloseTo(200 / 256.0, offset(0.01));
    assertThat(hits[5] / (double) picks).isCloseTo(56 / 256.0, offset(0.01));
    // another step, source rank or token draws again
    int differs = 0;
    for (int t = 0; t < 1000; t++) {
      differs += p.slotFor(0, 0, 17L, 0, t) != p.slotFor(0, 0, 18L, 0, t) ? 1 : 0;
    }
    assertThat(differs).isGreaterThan(100);
  }

  @Test
  void theDigestTellsMapsAndSharesApartButNotVersions() {
    Placement p = redundant();
    assertThat(Placement.of(p.phy2log(), 4, 2, 99L).digest()).isEqualTo(p.digest());
    int[][] moved = p.phy2log();
    moved[1][5] = 0;
    moved[0][0] = 3;
    moved[0][4] = 2;
    assertThat(Placement.of(moved, 4, 2, 7L).digest()).isNotEqualTo(p.digest());
    int[][] shares = p.shares();
    shares[1][3] = 85;
    shares[1][5] = 86;
    Placement reshared = Placement.of(p.phy2log(), shares, 4, 2, 7L);
    assertThat(reshared.digest()).isNotEqualTo(p.digest());
    assertThat(reshared.samePlacementAs(p)).isFalse();
  }

  @Test
  void rejectsSharesThatDoNotAddUp() {
    int[][] map = {{0, 1, 0, 1}};
    assertThatThrownBy(() -> Placement.of(map, new int[][] {{100, 256, 100, 0}}, 2, 2, 0))
        .hasMessage("layer 0: the shares of expert 0 sum to 200/256, not 1");
    assertThatThrownBy(() -> Placement.of(map, new int[][] {{300, 256, -44, 0}}, 2, 2, 0))
        .hasMessage("layer 0 slot 2 has a negative share -44");
    assertThatThrownBy(() -> Placement.of(map, new int[][] {{256, 256, 0}}, 2, 2, 0))
        .hasMessage("layer 0 has 3 shares for 4 slots");
    assertThatThrownBy(() -> Placement.of(map, new int[0][], 2, 2, 0))
        .hasMessage("shares have 0 layers, phy2log 1");
  }

  @Test
  void accessorsReturnCopies() {
    Placement p = redundant();
    p.phy2log()[0][0] = 3;
    p.logcnt()[0][0] = 9;
    p.log2phy()[0][0][0] = 4;
    assertThat(p.logicalOf(0, 0)).isEqualTo(2);
    assertThat(p.replicas(0, 0)).isEqualTo(2);
    assertThat(p.replica(0, 0, 0)).isEqualTo(1);
    int[][] source = {{0, 1}};
    Placement q = Placement.of(source, 2, 1, 0);
    source[0][0] = 1;
    assertThat(q.logicalOf(0, 0)).isZero();
  }

  @Test
  void samePlacementComparesMapsNotVersions() {
    Placement p = redundant();
    Placement sameMapNewVersion = Placement.of(p.phy2log(), 4, 2, 8L);
    assertThat(p.samePlacementAs(sameMapNewVersion)).isTrue();
    assertThat(p.samePlacementAs(Placement.of(p.phy2log(), 4, 3, 7L))).isFalse();
    int[][] moved = p.phy2log();
    moved[1][5] = 0;
    assertThat(p.samePlacementAs(Placement.of(moved, 4, 2, 7L))).isFalse();
    assertThat(p.toString()).contains("version=7").contains("[2, 0, 1, 2, 3, 0]");
  }

  @Test
  void rejectsInvalidMaps() {
    assertThatThrownBy(() -> Placement.of(new int[][] {{0, 1, 2}}, 3, 2, 0))
        .hasMessage("slots per layer (3) must be a positive multiple of ranks (2)");
    assertThatThrownBy(() -> Placement.of(new int[][] {{0, 1}, {0, 1, 1, 0}}, 2, 2, 0))
        .hasMessage("layer 1 has 4 slots, layer 0 has 2");
    assertThatThrownBy(() -> Placement.of(new int[][] {{0, 0}}, 2, 2, 0))
        .hasMessage("layer 0 has no slot for logical expert 1");
    assertThatThrownBy(() -> Placement.of(new int[][] {{0, 2}}, 2, 2, 0))
        .hasMessage("layer 0 slot 1 holds expert 2, outside 0..1");
    assertThatThrownBy(() -> Placement.of(new int[][] {{0, -1}}, 2, 2, 0))
        .hasMessage("layer 0 slot 1 holds expert -1, outside 0..1");
    assertThatThrownBy(() -> Placement.of(new int[0][], 2, 2, 0))
        .hasMessage("phy2log has no layers");
    assertThatThrownBy(() -> Placement.of(new int[][] {{}}, 1, 1, 0))
        .hasMessage("slots per layer (0) must be a positive multiple of ranks (1)");
    assertThatThrownBy(() -> Placement.of(new int[][] {{0}}, 1, 0, 0))
        .hasMessage("ranks must be >= 1, got 0");
    assertThatThrownBy(() -> Placement.of(new int[][] {{0}}, 0, 1, 0))
        .hasMessage("experts must be >= 1, got 0");
    assertThatThrownBy(() -> Placement.of(new int[][] {{0}}, 1, 1, -1))
        .hasMessage("version must be >= 0, got -1");
    assertThatThrownBy(() -> Placement.of(new int[][] {{0}, null}, 1, 1, 0))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("phy2log[1]");
    Placement p = redundant();
    assertThatThrownBy(() -> p.rankOfSlot(6)).isInstanceOf(IndexOutOfBoundsException.class);
    assertThatThrownBy(() -> p.replica(0, 1, 1)).isInstanceOf(IndexOutOfBoundsException.class);
    assertThatThrownBy(() -> p.slotFor(2, 0, 0, 0, 0))
        .isInstanceOf(IndexOutOfBoundsException.class);
  }
}
