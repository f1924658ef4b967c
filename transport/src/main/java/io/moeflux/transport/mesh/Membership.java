package io.moeflux.transport.mesh;

import io.moeflux.transport.MeshConfig;
import io.moeflux.transport.MeshException;
import io.moeflux.transport.protocol.FrameKind;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;

/**
 * Who is still in the mesh, and how this rank's membership ends: peers that leave (a goodbye on
 * every lane), peers that are lost (a connection that closes or fails without one), this rank
 * leaving, failing, or being disposed.
 */
final class Membership {
  private final MeshConfig config;
  private final Inbox inbox;
  private final int[] goodbyes;
  private final AtomicInteger peersGone = new AtomicInteger();
  private final Sinks.Empty<Void> everyoneLeft = Sinks.empty();
  private final Sinks.Empty<Void> closed = Sinks.empty();
  private final AtomicBoolean disposed = new AtomicBoolean();
  private final AtomicBoolean leaving = new AtomicBoolean();
  private volatile @Nullable MeshException failure;
  private volatile Consumer<MeshException> onFailed = error -> {};

  Membership(MeshConfig config, Inbox inbox) {
    this.config = config;
    this.inbox = inbox;
    this.goodbyes = new int[config.worldSize()];
  }

  /** A peer completed one of its lanes; when all are complete it has left, every frame arrived. */
  void goodbye(int source) {
    boolean gone;
    synchronized (goodbyes) {
      gone = ++goodbyes[source] == FrameKind.Lane.count();
    }
    if (gone) {
      inbox.departed(source, describe(source));
      peerGone();
    }
  }

  /** A connection to or from {@code peer} closed ({@code cause} null) or failed. */
  void peerLost(int peer, @Nullable Throwable cause) {
    if (disposed.get() || hasLeft(peer)) {
      return;
    }
    if (leaving.get()) {
      // we are leaving too: a peer gone without its goodbye counts as gone
      synchronized (goodbyes) {
        if (goodbyes[peer] == FrameKind.Lane.count()) {
          return;
        }
        goodbyes[peer] = FrameKind.Lane.count();
      }
      peerGone();
      return;
    }
    String why = cause == null ? "connection closed" : cause.toString();
    fail(
        new MeshException(
            "rank " + config.rank() + ": peer " + describe(peer) + " lost: " + why, cause));
  }

  /** Fails the mesh: every pending and later receive, and {@link #onClose()}. */
  void fail(MeshException error) {
    synchronized (this) {
      if (failure != null || disposed.get()) {
        return;
      }
      failure = error;
    }
    inbox.fail(error);
    onFailed.accept(error);
    closed.tryEmitError(error);
    // Connections stay open until dispose(): closing them here would make every other rank
    // report this rank as lost, instead of the peer that really was.
  }

  /** What to do once, when the mesh fails (before {@link #onClose()} fails): tell the peers. */
  void onFailed(Consumer<MeshException> action) {
    this.onFailed = action;
  }

  /** Whether frames may still go out: not failed, not disposed. */
  boolean isLive() {
    return failure == null && !disposed.get();
  }

  /** Why a frame for {@code peer} cannot go out now: the failure, or that the mesh closed. */
  MeshException whyNotLive(int peer) {
    MeshException failed = failure;
    if (failed != null) {
      return new MeshException(
          "rank "
              + config.rank()
              + ": no frame goes to rank "
              + peer
              + ", the mesh failed: "
              + failed.getMessage(),
          failed);
    }
    return new MeshException(
        "rank " + config.rank() + ": no frame goes to rank " + peer + ", the mesh is closed");
  }

  /** True the first time: this rank starts leaving. */
  boolean startLeaving() {
    return leaving.compareAndSet(false, true);
  }

  /** Completes when every peer has left, or at once when there is no one to wait for. */
  Mono<Void> everyoneLeft() {
    if (config.worldSize() == 1 || !isLive()) {
      return Mono.empty();
    }
    return everyoneLeft.asMono();
  }

  /** True the first time: this rank is closed, and every receive fails from now on. */
  boolean dispose() {
    if (!disposed.compareAndSet(false, true)) {
      return false;
    }
    inbox.fail(new MeshException("rank " + config.rank() + ": mesh closed"));
    return true;
  }

  /** After the connections are closed: {@link #onClose()} completes (unless it failed before). */
  void closed() {
    closed.tryEmitEmpty();
  }

  boolean isDisposed() {
    return disposed.get();
  }

  Mono<Void> onClose() {
    return closed.asMono();
  }

  /** How messages name a rank: with its address when the transport has one. */
  String describe(int rank) {
    return config.transport().describe(rank);
  }

  private boolean hasLeft(int peer) {
    synchronized (goodbyes) {
      return goodbyes[peer] == FrameKind.Lane.count();
    }
  }

  private void peerGone() {
    if (peersGone.incrementAndGet() == config.worldSize() - 1) {
      everyoneLeft.tryEmitEmpty();
    }
  }
}
