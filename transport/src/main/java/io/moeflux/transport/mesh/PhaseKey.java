package io.moeflux.transport.mesh;

import io.moeflux.transport.protocol.FrameKind;

/** One collective phase: a (kind, step, layer) every rank sends one frame for. */
record PhaseKey(FrameKind kind, long step, int layer) {
  @Override
  public String toString() {
    return kind + "(step " + step + ", layer " + layer + ")";
  }
}
