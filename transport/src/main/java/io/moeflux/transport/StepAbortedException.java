package io.moeflux.transport;

/**
 * A receive for a step that a rank gave up with {@link RankMesh#abort}: every DATA-lane phase
 * (DISPATCH, COMBINE, GATHER) of that step fails with it, on every rank, while the mesh itself
 * stays up for the next step.
 */
public final class StepAbortedException extends MeshException {
  private static final long serialVersionUID = 1L;

  private final long step;
  private final int peer;
  private final String reason;

  /**
   * @param self the rank that reports it
   * @param step the aborted step
   * @param peer the rank that aborted it ({@code self} when this rank did)
   * @param reason why, as that rank said
   */
  public StepAbortedException(int self, long step, int peer, String reason) {
    super("rank " + self + ": step " + step + " aborted by rank " + peer + ": " + reason);
    this.step = step;
    this.peer = peer;
    this.reason = reason;
  }

  public long step() {
    return step;
  }

  /** The rank that aborted the step. */
  public int peer() {
    return peer;
  }

  /** Why that rank aborted it. */
  public String reason() {
    return reason;
  }
}
