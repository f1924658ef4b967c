package io.moeflux.pipeline;

import io.moeflux.pipeline.model.ExpertFfn;
import io.moeflux.pipeline.model.MoeModel;
import io.moeflux.pipeline.model.Placement;
import io.moeflux.pipeline.placement.PlacementHistory;
import io.moeflux.pipeline.placement.PreparedPlacement;
import io.moeflux.transport.RankMesh;

/**
 * A running rank's mesh, configuration and the placement in force with this rank's experts for it:
 * the {@link RankContext} its extensions see. Only the rank's main path switches the placement; the
 * placement and its experts change together, in one write, so a reader never sees one without the
 * other.
 */
final class RankState implements RankContext {
  private final RankMesh mesh;
  private final PipelineConfig config;
  private volatile PreparedPlacement inForce;
  private volatile PlacementHistory history;

  RankState(RankMesh mesh, PipelineConfig config) {
    this.mesh = mesh;
    this.config = config;
    Placement initial = config.initialPlacement(mesh.worldSize());
    this.inForce = new PreparedPlacement(initial, loadExperts(config.model(), initial));
    this.history = PlacementHistory.startingWith(initial);
  }

  /** This rank's experts under {@code p}, loaded from the model: only the slots it holds. */
  private ExpertFfn[][] loadExperts(MoeModel model, Placement p) {
    int slotsPerRank = p.slotsPerRank();
    ExpertFfn[][] local = new ExpertFfn[p.layers()][slotsPerRank];
    for (int l = 0; l < p.layers(); l++) {
      for (int i = 0; i < slotsPerRank; i++) {
        local[l][i] = model.expert(l, p.logicalOf(l, mesh.rank() * slotsPerRank + i));
      }
    }
    return local;
  }

  @Override
  public int rank() {
    return mesh.rank();
  }

  @Override
  public int worldSize() {
    return mesh.worldSize();
  }

  @Override
  public RankMesh mesh() {
    return mesh;
  }

  @Override
  public PipelineConfig config() {
    return config;
  }

  @Override
  public Placement placement() {
    return inForce.placement();
  }

  @Override
  public ExpertFfn localExpert(int layer, int localSlot) {
    return inForce.localExperts()[layer][localSlot];
  }

  /** The placement in force with this rank's experts for it, read once per step. */
  PreparedPlacement inForce() {
    return inForce;
  }

  /** The placements this rank has had in force, with their switch steps. */
  PlacementHistory history() {
    return history;
  }

  /** Called on the main path at a switch step every rank agreed on. */
  void switchTo(long step, PreparedPlacement next) {
    inForce = next;
    history = history.with(step, next.placement());
  }
}
