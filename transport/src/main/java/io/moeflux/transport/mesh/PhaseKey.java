package io.moeflux.transport.mesh;

import io.moeflux.transport.protocol.FrameKind;

/**
 * One collective phase: a (kind, step, layer, micro-batch) every rank sends one frame for. Kinds
 * that are not split into micro-batches use micro-batch 0.
 */
record PhaseKey(FrameKind kind, long step, int layer, int micro) {
  PhaseKey(FrameKind kind, long step, int layer) {
    this(kind, step, layer, 0);
  }

  @Override
  public String toString() {
    return kind
        + "(step "
        + step
        + ", layer "
        + layer
        + (micro != 0 ? ", micro-batch " + micro : "")
        + ")";
  }
}
