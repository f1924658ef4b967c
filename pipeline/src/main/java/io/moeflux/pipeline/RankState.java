package io.moeflux.pipeline;

import io.moeflux.pipeline.model.ExpertBank;
import io.moeflux.pipeline.model.ExpertFfn;
import io.moeflux.pipeline.model.Placement;
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
  private final ExpertBank bank;
  private volatile PreparedPlacement inForce;

  RankState(RankMesh mesh, PipelineConfig config, ExpertBank bank) {
    this.mesh = mesh;
    this.config = config;
    this.bank = bank;
    Placement initial = config.initialPlacement(mesh.worldSize());
    this.inForce = new PreparedPlacement(initial, loadExperts(initial));
  }

  private ExpertFfn[][] loadExperts(Placement p) {
    int slotsPerRank = p.slotsPerRank();
    ExpertFfn[][] local = new ExpertFfn[p.layers()][slotsPerRank];
    for (int l = 0; l < p.layers(); l++) {
      for (int i = 0; i < slotsPerRank; i++) {
        local[l][i] = bank.expert(l, p.logicalOf(l, mesh.rank() * slotsPerRank + i));
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

  ExpertBank bank() {
    return bank;
  }

  /** The placement in force with this rank's experts for it, read once per step. */
  PreparedPlacement inForce() {
    return inForce;
  }

  /** Called on the main path at a switch step every rank agreed on. */
  void switchTo(PreparedPlacement next) {
    inForce = next;
  }
}
