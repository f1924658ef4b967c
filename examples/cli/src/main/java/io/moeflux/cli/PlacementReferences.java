package io.moeflux.cli;

import io.moeflux.pipeline.model.MoeModel;
import io.moeflux.pipeline.model.Placement;
import io.moeflux.pipeline.model.ReferenceModel;
import io.moeflux.pipeline.placement.PlacementHistory;
import io.moeflux.transport.protocol.WireFormat;
import java.util.ArrayList;
import java.util.List;

/**
 * The single-process reference for each placement a rank had in force: a rank's output at a step is
 * checked against the reference for the placement its own history says was in force there. One
 * reference per distinct placement (same maps and version), whichever rank's copy of it is asked
 * for, since a reference loads the experts it routes to. Every reference rounds rows as the group's
 * wire format does where they cross a socket.
 */
final class PlacementReferences {
  private final MoeModel model;
  private final WireFormat wire;
  private final List<ReferenceModel> references = new ArrayList<>();

  PlacementReferences(MoeModel model, WireFormat wire) {
    this.model = model;
    this.wire = wire;
  }

  /** The reference for the placement {@code history} had in force at {@code step}. */
  synchronized ReferenceModel at(PlacementHistory history, long step) {
    Placement placement = history.inForceAt(step);
    for (ReferenceModel reference : references) {
      Placement known = reference.placement();
      if (known.version() == placement.version() && known.samePlacementAs(placement)) {
        return reference;
      }
    }
    ReferenceModel reference = new ReferenceModel(model, placement, wire);
    references.add(reference);
    return reference;
  }
}
