package io.moeflux.transport;

/**
 * What a {@link MeshTransport} tells its rank's mesh about frames that arrived but could not be
 * held, so that the failure reaches every rank with its reason instead of surfacing later as a
 * stall or a lost peer. Called on a transport thread; implementations must not block.
 */
public interface InboundFailures {
  /** Ignores every failure: the transport's own handling (closing the connection) applies. */
  InboundFailures NONE =
      new InboundFailures() {
        @Override
        public void dataFrameDropped(long step, String reason) {}

        @Override
        public void connectionBroken(String reason) {}
      };

  /**
   * A DATA-lane frame of {@code step} was read off the connection and dropped (its bytes skipped,
   * the connection still in step): the step cannot complete on this rank, for {@code reason}.
   */
  void dataFrameDropped(long step, String reason);

  /** The connection cannot go on (a frame that could not be held and not be skipped cleanly). */
  void connectionBroken(String reason);
}
