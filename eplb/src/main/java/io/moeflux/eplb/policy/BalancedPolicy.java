package io.moeflux.eplb.policy;

import io.moeflux.pipeline.model.Placement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.stream.IntStream;
import org.jspecify.annotations.Nullable;

/**
 * The default policy: replica counts and their packing searched together, with weighted shares,
 * never worse than DeepSeek's algorithm and moving as few experts as the best balance allows.
 *
 * <p>Per layer, with groups and nodes given (DeepSeek's hierarchical case), expert groups go to
 * nodes by {@link GroupPacking}; DeepSeek's own grouping and the current placement's grouping (when
 * it keeps groups on nodes) compete with it. Within each node, a {@link NodeSearch} finds how many
 * replicas each expert gets and which rank holds each (longest-processing-time packing, then local
 * search with restarts), starting from the greedy packing, from DeepSeek's layout and from the
 * current one; {@link ShareBalancer} then gives each replica its share ({@link ShareMode#WEIGHTED})
 * or equal shares ({@link ShareMode#UNIFORM}).
 *
 * <p>Every candidate's ranks are matched to the current placement's ranks ({@link RankMatching}).
 * Among candidates whose balancedness is within {@link Builder#tolerance} of the best, the one that
 * moves the fewest expert copies wins: a node that does not limit the layer's balance keeps as much
 * of its current layout as it can.
 *
 * <p>Deterministic: budgets count search steps, random choices are seeded from {@link
 * PlacementProblem#seed()} and the layer, and layers are planned independently (in parallel), so
 * every rank that plans from the same snapshot gets the same plan, bit for bit.
 */
public final class BalancedPolicy implements PlacementPolicy {
  /** Plans whose balancedness differs by at most this are equally balanced. */
  public static final double TIE = 1e-6;

  /** Search steps when a node is only scored, to compare groupings. */
  private static final int QUICK_STEPS = 20;

  /** Relative excess over the mean below which a node's continuous shares count as even. */
  private static final double EVEN = 1e-6;

  /** Balanced trials a {@link BridgeSearch} may spend on one node layout. */
  private static final int BRIDGE_TRIES = 64;

  private final ShareMode shares;
  private final int steps;
  private final int restarts;
  private final double tolerance;

  private BalancedPolicy(Builder b) {
    this.shares = b.shares;
    this.steps = b.steps;
    this.restarts = b.restarts;
    this.tolerance = b.tolerance;
  }

  /** Weighted shares and the default budget. */
  public BalancedPolicy() {
    this(builder());
  }

  /** {@code shares} and the default budget. */
  public BalancedPolicy(ShareMode shares) {
    this(builder().shares(shares));
  }

  /** A builder holding the defaults listed on {@link Builder}. */
  public static Builder builder() {
    return new Builder();
  }

  public ShareMode shares() {
    return shares;
  }

  @Override
  public PlacementPlan plan(PlacementProblem problem) {
    Objects.requireNonNull(problem, "problem");
    LayerChoice[] layers =
        IntStream.range(0, problem.layers())
            .parallel()
            .mapToObj(l -> planLayer(problem, l))
            .toArray(LayerChoice[]::new);
    int[][] phy2log = new int[layers.length][];
    int[][] units = new int[layers.length][];
    for (int l = 0; l < layers.length; l++) {
      phy2log[l] = layers[l].phy2log;
      units[l] = layers[l].shares;
    }
    return PlacementPlan.of(problem, phy2log, units);
  }

  /** One layer's plan and what it costs. */
  private record LayerChoice(int[] phy2log, int[] shares, double peak, int moves) {}

  /** One node's candidate layout in global expert ids, already in its matched ranks' places. */
  private record NodeChoice(int[] layout, int[] units, double peak, int moves) {}

  /**
   * A layer layout to plan from: DeepSeek's (which may hold two replicas of one expert on a rank)
   * or the current one, with its shares.
   */
  private record Start(int[] layout, int[] units, boolean current) {}

  /**
   * Groups on nodes, and the layouts that keep them to plan from; only the packed grouping is
   * searched from scratch.
   */
  private record Grouping(int[] nodeOf, boolean searched, List<Start> starts) {}

  private LayerChoice planLayer(PlacementProblem problem, int layer) {
    double[] load = problem.layerLoad(layer);
    long seed = SplitMix.derive(problem.seed(), layer);
    Shape shape = new Shape(problem);
    Placement current = problem.current();
    int[] now = current == null ? null : current.phy2log()[layer];
    int[] deepSeek = BalancedPolicy.deepSeek(problem, load);
    double[] groupLoad = new double[shape.groups];
    for (int e = 0; e < load.length; e++) {
      groupLoad[e / shape.groupSize] += load[e];
    }
    int[] packed = GroupPacking.assign(groupLoad, shape.nodes, seed, restarts);
    if (shares == ShareMode.UNIFORM) {
      packed = GroupPacking.refine(packed, shape.nodes, mask -> quickPeak(shape, load, mask), 8);
    }
    List<Grouping> groupings = new ArrayList<>();
    groupings.add(new Grouping(packed, true, new ArrayList<>()));
    Start theirs =
        new Start(deepSeek, Placement.equalShares(new int[][] {deepSeek}, load.length)[0], false);
    addStart(groupings, shape.groupingOf(deepSeek), theirs);
    if (now != null) {
      addStart(groupings, shape.groupingOf(now), new Start(now, current.shares()[layer], true));
    }
    double total = Arrays.stream(load).sum();
    LayerChoice best = null;
    for (int g = 0; g < groupings.size(); g++) {
      LayerChoice choice = layout(shape, load, total, groupings.get(g), now, seed + g);
      if (best == null || better(choice, best, total / shape.ranks)) {
        best = choice;
      }
    }
    return best;
  }

  /**
   * The peak rank load of a node holding the groups in {@code mask} (a bit per group), with equal
   * shares after a short search: how {@link GroupPacking#refine} compares groupings.
   */
  private static double quickPeak(Shape shape, double[] load, long mask) {
    double[] nodeLoad = new double[shape.expertsPerNode];
    int i = 0;
    for (int e = 0; e < load.length && i < nodeLoad.length; e++) {
      if ((mask & (1L << (e / shape.groupSize))) != 0) {
        nodeLoad[i++] = load[e];
      }
    }
    NodeSearch search = NodeSearch.greedy(nodeLoad, shape.ranksPerNode, shape.k);
    search.run(QUICK_STEPS, 0, 0);
    return search.bestPeak();
  }

  /** Adds {@code start} to the grouping it keeps, listing that grouping if it is new. */
  private static void addStart(List<Grouping> groupings, int @Nullable [] nodeOf, Start start) {
    if (nodeOf == null) {
      return;
    }
    for (Grouping g : groupings) {
      if (Arrays.equals(g.nodeOf, nodeOf)) {
        g.starts.add(start);
        return;
      }
    }
    groupings.add(new Grouping(nodeOf, false, new ArrayList<>(List.of(start))));
  }

  /** Whether {@code a} beats {@code b}: clearly better balanced, or as balanced and fewer moves. */
  private boolean better(LayerChoice a, LayerChoice b, double mean) {
    double ba = balancedness(mean, a.peak);
    double bb = balancedness(mean, b.peak);
    if (Math.abs(ba - bb) > tolerance) {
      return ba > bb;
    }
    return a.moves < b.moves || (a.moves == b.moves && a.peak < b.peak);
  }

  private static double balancedness(double mean, double peak) {
    return peak <= 0 ? 1.0 : mean / peak;
  }

  /** The layout of every node for one grouping: per node, the candidate that is picked. */
  private LayerChoice layout(
      Shape shape,
      double[] load,
      double total,
      Grouping grouping,
      int @Nullable [] now,
      long seed) {
    int nodes = shape.nodes;
    int[][] members = new int[nodes][shape.expertsPerNode];
    int[] filled = new int[nodes];
    for (int e = 0; e < load.length; e++) {
      int node = grouping.nodeOf[e / shape.groupSize];
      members[node][filled[node]++] = e;
    }
    int[] place = now == null ? identity(nodes) : shape.matchNodes(members, now);
    List<List<NodeChoice>> candidates = new ArrayList<>();
    double needed = 0;
    for (int node = 0; node < nodes; node++) {
      List<NodeChoice> choices =
          nodeCandidates(
              shape, load, members[node], grouping, now, place[node], SplitMix.derive(seed, node));
      double lowest = Double.MAX_VALUE;
      for (NodeChoice c : choices) {
        lowest = Math.min(lowest, c.peak);
      }
      needed = Math.max(needed, lowest);
      candidates.add(choices);
    }
    double mean = total / shape.ranks;
    double floor = balancedness(mean, needed) - tolerance;
    double allowed = floor <= 0 ? Double.MAX_VALUE : mean / floor;
    int[] phy2log = new int[shape.ranks * shape.k];
    int[] units = new int[phy2log.length];
    double peak = 0;
    int moves = 0;
    for (int node = 0; node < nodes; node++) {
      NodeChoice pick = null;
      for (NodeChoice c : candidates.get(node)) {
        if (c.peak <= allowed
            && (pick == null
                || c.moves < pick.moves
                || (c.moves == pick.moves && c.peak < pick.peak))) {
          pick = c;
        }
      }
      int offset = place[node] * shape.slotsPerNode;
      System.arraycopy(pick.layout, 0, phy2log, offset, shape.slotsPerNode);
      System.arraycopy(pick.units, 0, units, offset, shape.slotsPerNode);
      peak = Math.max(peak, pick.peak);
      moves += pick.moves;
    }
    return new LayerChoice(phy2log, units, peak, moves);
  }

  /**
   * Candidate layouts of one node (the one whose place is {@code physical}): searched from scratch
   * when the grouping is the packed one, and from each start layout; the current layout as it is.
   */
  private List<NodeChoice> nodeCandidates(
      Shape shape,
      double[] load,
      int[] members,
      Grouping grouping,
      int @Nullable [] now,
      int physical,
      long seed) {
    int ranks = shape.ranksPerNode;
    int k = shape.k;
    double[] nodeLoad = new double[members.length];
    int[] local = new int[load.length];
    Arrays.fill(local, -1);
    for (int i = 0; i < members.length; i++) {
      nodeLoad[i] = load[members[i]];
      local[members[i]] = i;
    }
    Candidates found = new Candidates(nodeLoad, ranks, k);
    if (grouping.searched) {
      NodeSearch greedy = NodeSearch.greedy(nodeLoad, ranks, k);
      greedy.run(steps, restarts, seed);
      found.add(greedy.bestLayout(), null, null);
      if (shares == ShareMode.WEIGHTED) {
        found.refine(greedy.bestLayout(), null, restarts, seed);
        SplitPacking split = SplitPacking.of(nodeLoad, ranks, k);
        found.refine(split.layout(), split.weights(), restarts, seed);
      }
    }
    for (Start start : grouping.starts) {
      int[][] given = shape.nodeLayout(start, members, local);
      if (given == null) {
        continue;
      }
      int[][] distinct = Shape.withoutDuplicates(given[0], given[1], ranks, k, members.length);
      if (distinct != null) {
        // the layout as it is (DeepSeek's only when no rank holds an expert twice) ...
        found.add(distinct[0], null, distinct[1]);
      } else if (shares == ShareMode.WEIGHTED) {
        // ... or with each rank's two replicas of an expert merged into one, as served
        int[] units = given[1].clone();
        int[] merged = Shape.mergeDuplicates(given[0], units, ranks, k, members.length);
        found.add(merged, null, units);
      }
      NodeSearch from = NodeSearch.from(nodeLoad, ranks, k, given[0]);
      from.run(steps, 0, seed);
      found.add(from.bestLayout(), null, null);
      if (shares == ShareMode.WEIGHTED) {
        found.refine(from.bestLayout(), null, 0, seed);
      }
    }
    int offset = physical * shape.slotsPerNode;
    int[] old = now == null ? null : Arrays.copyOfRange(now, offset, offset + shape.slotsPerNode);
    List<NodeChoice> choices = new ArrayList<>();
    for (int c = 0; c < found.layouts.size(); c++) {
      int[] layout = found.layouts.get(c);
      ShareBalancer.Shares split = found.shares.get(c);
      int[] global = new int[layout.length];
      for (int s = 0; s < layout.length; s++) {
        global[s] = members[layout[s]];
      }
      if (old == null) {
        choices.add(new NodeChoice(global, split.units(), split.peak(), 0));
        continue;
      }
      int[][] kept = RankMatching.overlap(global, old, ranks, k);
      int[] match = RankMatching.match(kept);
      int[][] aligned = RankMatching.align(global, split.units(), old, match, k);
      choices.add(
          new NodeChoice(aligned[0], aligned[1], split.peak(), RankMatching.moves(kept, match, k)));
    }
    return choices;
  }

  /** One node's candidate layouts with their shares. */
  private final class Candidates {
    final double[] load;
    final int ranks;
    final int k;
    final List<int[]> layouts = new ArrayList<>();
    final List<ShareBalancer.Shares> shares = new ArrayList<>();

    Candidates(double[] load, int ranks, int k) {
      this.load = load;
      this.ranks = ranks;
      this.k = k;
    }

    /**
     * Adds {@code layout} with its shares: equal ones, or with weighted shares the best found from
     * {@code parts} (the load per slot to start from) that beats {@code units} (equal when null).
     */
    void add(int[] layout, double @Nullable [] parts, int @Nullable [] units) {
      layouts.add(layout);
      shares.add(
          BalancedPolicy.this.shares == ShareMode.WEIGHTED
              ? ShareBalancer.balance(load, ranks, k, layout, parts, units)
              : ShareBalancer.equal(load, ranks, k, layout));
    }

    /** Whether every rank's load in {@code parts} is within {@link #EVEN} of the mean. */
    private boolean evenEnough(double[] parts) {
      double[] rankLoad = new double[ranks];
      double total = 0;
      for (int s = 0; s < parts.length; s++) {
        rankLoad[s / k] += parts[s];
        total += parts[s];
      }
      double limit = total / ranks * (1 + EVEN);
      for (double v : rankLoad) {
        if (v > limit) {
          return false;
        }
      }
      return true;
    }

    /**
     * Adds {@code layout} as it is when its continuous shares already even the ranks out; else
     * searches on from it with a weight per replica ({@link WeightedNodeSearch}), opens ways off
     * the peak ({@link BridgeSearch}), and adds the layout found.
     */
    void refine(int[] layout, double @Nullable [] parts, int restarts, long seed) {
      double[] balanced = ShareBalancer.continuous(load, ranks, k, layout, parts);
      if (evenEnough(balanced)) {
        // the shares alone even the ranks out: nothing for a search to gain
        add(layout, balanced, null);
        return;
      }
      BridgeSearch bridged = BridgeSearch.run(load, ranks, k, layout, balanced, BRIDGE_TRIES);
      add(bridged.layout(), bridged.parts(), null);
      if (evenEnough(bridged.parts())) {
        return;
      }
      WeightedNodeSearch search =
          new WeightedNodeSearch(load, ranks, k, bridged.layout(), bridged.parts());
      search.run(steps, restarts, seed);
      BridgeSearch again =
          BridgeSearch.run(load, ranks, k, search.bestLayout(), search.bestWeights(), BRIDGE_TRIES);
      add(again.layout(), again.parts(), null);
    }
  }

  private static int[] identity(int n) {
    int[] id = new int[n];
    for (int i = 0; i < n; i++) {
      id[i] = i;
    }
    return id;
  }

  /** DeepSeek's layout of one layer (hierarchical when the problem is). */
  static int[] deepSeek(PlacementProblem problem, double[] load) {
    boolean hierarchical = problem.hierarchical();
    return DeepSeekPolicy.layer(
        load,
        problem.replicas(),
        hierarchical ? problem.groups() : 1,
        hierarchical ? problem.nodes() : 1,
        problem.ranks());
  }

  /** The problem's geometry: nodes, groups, and what each holds. */
  private static final class Shape {
    final int ranks;
    final int k;
    final int nodes;
    final int groups;
    final int groupSize;
    final int ranksPerNode;
    final int slotsPerNode;
    final int expertsPerNode;
    final int experts;

    Shape(PlacementProblem problem) {
      boolean hierarchical = problem.hierarchical();
      this.ranks = problem.ranks();
      this.k = problem.slotsPerRank();
      this.nodes = hierarchical ? problem.nodes() : 1;
      this.groups = hierarchical ? problem.groups() : 1;
      this.experts = problem.experts();
      this.groupSize = experts / groups;
      this.ranksPerNode = ranks / nodes;
      this.slotsPerNode = ranksPerNode * k;
      this.expertsPerNode = experts / nodes;
    }

    /** The node of each group in {@code phy2log}, or null when a group spans nodes. */
    int @Nullable [] groupingOf(int[] phy2log) {
      int[] nodeOf = new int[groups];
      Arrays.fill(nodeOf, -1);
      for (int s = 0; s < phy2log.length; s++) {
        int g = phy2log[s] / groupSize;
        int node = s / slotsPerNode;
        if (nodeOf[g] >= 0 && nodeOf[g] != node) {
          return null;
        }
        nodeOf[g] = node;
      }
      int[] perNode = new int[nodes];
      for (int g = 0; g < groups; g++) {
        if (nodeOf[g] < 0) {
          return null;
        }
        perNode[nodeOf[g]]++;
      }
      for (int n : perNode) {
        if (n != groups / nodes) {
          return null;
        }
      }
      return nodeOf;
    }

    /**
     * The layout and units of the node of {@code start} whose experts are {@code members}, in
     * node-local ids, or null when no node of it holds exactly those experts.
     */
    int @Nullable [][] nodeLayout(Start start, int[] members, int[] local) {
      for (int node = 0; node < nodes; node++) {
        int[] layout = new int[slotsPerNode];
        int[] units = new int[slotsPerNode];
        boolean[] present = new boolean[members.length];
        boolean inside = true;
        for (int s = 0; s < slotsPerNode && inside; s++) {
          int l = local[start.layout()[node * slotsPerNode + s]];
          inside = l >= 0;
          if (inside) {
            layout[s] = l;
            units[s] = start.units()[node * slotsPerNode + s];
            present[l] = true;
          }
        }
        boolean complete = inside;
        for (int i = 0; i < present.length && complete; i++) {
          complete = present[i];
        }
        if (complete) {
          return new int[][] {layout, units};
        }
      }
      return null;
    }

    /** {@code {layout, units}} when no rank holds an expert twice, else null. */
    static int @Nullable [][] withoutDuplicates(
        int[] layout, int[] units, int ranks, int k, int experts) {
      for (int r = 0; r < ranks; r++) {
        boolean[] seen = new boolean[experts];
        for (int i = 0; i < k; i++) {
          int e = layout[r * k + i];
          if (seen[e]) {
            return null;
          }
          seen[e] = true;
        }
      }
      return new int[][] {layout, units};
    }

    /**
     * A rank's second replica of an expert merged into its first (the units add up), the freed slot
     * becoming an empty replica of the lowest expert the rank lacks: the same rank loads without
     * two replicas of one expert on a rank. Returns the new layout; {@code units} is updated in
     * place.
     */
    static int[] mergeDuplicates(int[] layout, int[] units, int ranks, int k, int experts) {
      int[] merged = layout.clone();
      for (int r = 0; r < ranks; r++) {
        int[] firstSlot = new int[experts];
        Arrays.fill(firstSlot, -1);
        boolean[] holds = new boolean[experts];
        for (int i = 0; i < k; i++) {
          holds[merged[r * k + i]] = true;
        }
        for (int i = 0; i < k; i++) {
          int s = r * k + i;
          int e = merged[s];
          if (firstSlot[e] < 0) {
            firstSlot[e] = s;
            continue;
          }
          units[firstSlot[e]] += units[s];
          units[s] = 0;
          int free = 0;
          while (holds[free]) {
            free++;
          }
          merged[s] = free;
          holds[free] = true;
          firstSlot[free] = s;
        }
      }
      return merged;
    }

    /**
     * Which current node each new node takes the place of: the assignment that keeps the most
     * experts on their node.
     */
    int[] matchNodes(int[][] members, int[] now) {
      if (nodes == 1) {
        return new int[] {0};
      }
      double[][] cost = new double[nodes][nodes];
      for (int node = 0; node < nodes; node++) {
        boolean[] mine = new boolean[experts];
        for (int e : members[node]) {
          mine[e] = true;
        }
        for (int old = 0; old < nodes; old++) {
          for (int s = old * slotsPerNode; s < (old + 1) * slotsPerNode; s++) {
            if (mine[now[s]]) {
              cost[node][old]--;
            }
          }
        }
      }
      return RankMatching.hungarian(cost);
    }
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof BalancedPolicy p
        && shares == p.shares
        && steps == p.steps
        && restarts == p.restarts
        && Double.compare(tolerance, p.tolerance) == 0;
  }

  @Override
  public int hashCode() {
    return Objects.hash(shares, steps, restarts, tolerance);
  }

  @Override
  public String toString() {
    return "BalancedPolicy[shares="
        + shares
        + ", steps="
        + steps
        + ", restarts="
        + restarts
        + ", tolerance="
        + tolerance
        + "]";
  }

  /**
   * Collects a {@link BalancedPolicy}. Defaults: weighted shares, 2000 search steps and 24 restarts
   * per node search, tolerance {@link #TIE}.
   */
  public static final class Builder {
    private ShareMode shares = ShareMode.WEIGHTED;
    private int steps = 100;
    private int restarts = 16;
    private double tolerance = TIE;

    private Builder() {}

    /** Weighted (default) or equal replica shares. */
    public Builder shares(ShareMode shares) {
      this.shares = Objects.requireNonNull(shares, "shares");
      return this;
    }

    /** Descent steps per node search, restarts included, {@code >= 0}; default 100. */
    public Builder steps(int steps) {
      this.steps = steps;
      return this;
    }

    /** Perturbed restarts per node search while steps remain, {@code >= 0}; default 16. */
    public Builder restarts(int restarts) {
      this.restarts = restarts;
      return this;
    }

    /**
     * Balancedness, in {@code [0, 1)}, a plan may give up against the best one found to move fewer
     * experts; default {@link #TIE} (only equally balanced plans compete on moves).
     */
    public Builder tolerance(double tolerance) {
      this.tolerance = tolerance;
      return this;
    }

    /**
     * @throws IllegalArgumentException naming the field that is out of range
     */
    public BalancedPolicy build() {
      if (steps < 0) {
        throw new IllegalArgumentException("steps must be >= 0, got " + steps);
      }
      if (restarts < 0) {
        throw new IllegalArgumentException("restarts must be >= 0, got " + restarts);
      }
      if (!(tolerance >= 0 && tolerance < 1)) {
        throw new IllegalArgumentException("tolerance must be in [0, 1), got " + tolerance);
      }
      return new BalancedPolicy(this);
    }
  }
}
