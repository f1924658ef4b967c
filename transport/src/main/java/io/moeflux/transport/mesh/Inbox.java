package io.moeflux.transport.mesh;

import io.moeflux.transport.MeshException;
import io.moeflux.transport.PeerFrames;
import io.moeflux.transport.StepAbortedException;
import io.moeflux.transport.protocol.AbortFrameCodec;
import io.moeflux.transport.protocol.FrameHeaderCodec;
import io.moeflux.transport.protocol.FrameKind;
import io.netty.buffer.ByteBuf;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Mono;
import reactor.core.publisher.MonoSink;

/**
 * Frames that arrived, grouped by phase until one frame from every peer is there. A receive
 * completes on the thread that delivered the last frame, or at once if it came late. Every frame is
 * released exactly once: handed to the receiver inside {@link PeerFrames}, or released here on
 * cancel, failure, abort or close.
 *
 * <p>An aborted step fails its DATA-lane phases only ({@link StepAbortedException}); a failure of
 * the mesh fails every phase, now and later.
 */
final class Inbox {
  private final int self;
  private final int worldSize;
  private final long timeoutNanos;
  private final Consumer<MeshException> onProtocolError;
  private final ConcurrentHashMap<PhaseKey, Phase> phases = new ConcurrentHashMap<>();
  private final Function<PhaseKey, Phase> newPhase;
  private final AbortedSteps aborted;
  private volatile @Nullable MeshException failure;
  private final @Nullable String[] departed;

  Inbox(int self, int worldSize, long timeoutNanos, Consumer<MeshException> onProtocolError) {
    this.self = self;
    this.worldSize = worldSize;
    this.timeoutNanos = timeoutNanos;
    this.onProtocolError = onProtocolError;
    this.departed = new String[worldSize];
    this.aborted = new AbortedSteps(self);
    this.newPhase = key -> new Phase(key, worldSize, phases);
  }

  /** A peer left the mesh: every frame it sent has arrived, and no more will come. */
  void departed(int peer, String description) {
    departed[peer] = description;
  }

  /** Takes ownership of {@code frame} (its header validated), which came from {@code source}. */
  void deliver(int source, ByteBuf frame) {
    if (failure != null) {
      frame.release();
      return;
    }
    FrameKind kind = FrameHeaderCodec.kind(frame);
    long step = FrameHeaderCodec.step(frame);
    if (kind == FrameKind.ABORT) {
      abortFrom(source, frame);
      return;
    }
    boolean data = kind.lane() == FrameKind.Lane.DATA;
    if (data && aborted.contains(step)) {
      frame.release();
      return;
    }
    PhaseKey key = new PhaseKey(kind, step, FrameHeaderCodec.layer(frame));
    Phase phase = phases.computeIfAbsent(key, newPhase);
    MonoSink<PeerFrames> waiter = null;
    PeerFrames complete = null;
    boolean duplicate = false;
    boolean stale = false;
    synchronized (phase) {
      if (phase.done) {
        stale = true;
      } else if (phase.frames[source] != null) {
        duplicate = true;
      } else {
        phase.frames[source] = frame;
        phase.arrived++;
        if (phase.arrived == worldSize - 1 && phase.waiter != null) {
          waiter = phase.waiter;
          complete = phase.take(self);
        }
      }
    }
    if (stale) {
      // the phase was given up (cancelled, failed or aborted) while this frame was on its way
      frame.release();
      return;
    }
    if (duplicate) {
      frame.release();
      onProtocolError.accept(
          new MeshException(
              "rank " + self + ": rank " + source + " sent a second frame for " + key));
      return;
    }
    if (waiter != null) {
      waiter.success(complete);
      return;
    }
    if (data) {
      // an abort of this step may have swept the phases just before this frame was put in
      StepAbortedException abortedNow = aborted.failureFor(step);
      if (abortedNow != null) {
        failWaiter(phase, abortedNow);
      }
    }
  }

  private void abortFrom(int source, ByteBuf frame) {
    long step = FrameHeaderCodec.step(frame);
    String reason;
    try {
      reason = AbortFrameCodec.reason(frame);
    } catch (MeshException e) {
      onProtocolError.accept(
          new MeshException("rank " + self + ": rank " + source + " sent " + e.getMessage(), e));
      return;
    } finally {
      frame.release();
    }
    abort(step, source, reason);
  }

  /**
   * {@code peer} gave up {@code step}: fails every pending and later receive of a DATA-lane phase
   * of that step, and releases its frames now and as they arrive.
   */
  void abort(long step, int peer, String reason) {
    aborted.add(step, peer, reason);
    StepAbortedException error = aborted.failureFor(step);
    if (error == null) {
      // forgotten already: more aborts than the memory holds arrived meanwhile
      error = new StepAbortedException(self, step, peer, reason);
    }
    for (Phase phase : phases.values()) {
      if (phase.key.step() == step && phase.key.kind().lane() == FrameKind.Lane.DATA) {
        failWaiter(phase, error);
      }
    }
  }

  Mono<PeerFrames> receive(PhaseKey key) {
    if (key.kind() == FrameKind.ABORT) {
      return Mono.error(
          new IllegalArgumentException(
              "ABORT frames are not received: the receives of an aborted step fail instead"));
    }
    if (worldSize == 1) {
      return Mono.defer(
          () -> {
            MeshException failed = failureFor(key);
            return failed != null
                ? Mono.error(failed)
                : Mono.just(new PeerFrames(self, new ByteBuf[1]));
          });
    }
    return Mono.<PeerFrames>create(
            sink -> {
              MeshException failed = failureFor(key);
              if (failed != null) {
                sink.error(failed);
                return;
              }
              Phase phase = phases.computeIfAbsent(key, newPhase);
              PeerFrames ready = null;
              String error = null;
              synchronized (phase) {
                if (phase.claimed || phase.done) {
                  error = "rank " + self + ": " + key + " was asked for twice";
                } else {
                  phase.claimed = true;
                  if (phase.arrived == worldSize - 1) {
                    ready = phase.take(self);
                  } else {
                    phase.waiter = sink;
                    phase.deadline = System.nanoTime() + timeoutNanos;
                  }
                }
              }
              if (error != null) {
                sink.error(new MeshException(error));
                return;
              }
              if (ready != null) {
                sink.success(ready);
                return;
              }
              sink.onCancel(
                  () -> {
                    synchronized (phase) {
                      if (!phase.done) {
                        phase.drop();
                      }
                    }
                  });
              // a failure or an abort may have swept the phases before this waiter was in
              failed = failureFor(key);
              if (failed != null) {
                failWaiter(phase, failed);
              }
            })
        // frames completed into a receive that was cancelled meanwhile are released, not lost
        .doOnDiscard(PeerFrames.class, PeerFrames::release);
  }

  /** Why a receive of {@code key} must fail: the mesh failed, or its step was aborted. */
  private @Nullable MeshException failureFor(PhaseKey key) {
    MeshException failed = failure;
    if (failed == null && key.kind().lane() == FrameKind.Lane.DATA) {
      failed = aborted.failureFor(key.step());
    }
    return failed;
  }

  /**
   * Fails phases whose receive waited longer than the phase timeout, or that wait for a peer that
   * has left.
   */
  void sweep(long now) {
    for (Phase phase : phases.values()) {
      String missing = null;
      synchronized (phase) {
        if (phase.waiter != null && !phase.done) {
          for (int r = 0; r < worldSize; r++) {
            if (r != self && phase.frames[r] == null && departed[r] != null) {
              missing =
                  "rank "
                      + self
                      + ": "
                      + departed[r]
                      + " left the mesh while "
                      + phase.key
                      + " still waits for its frame";
            }
          }
        }
        if (missing == null && phase.waiter != null && !phase.done && now - phase.deadline > 0) {
          List<Integer> absent = new ArrayList<>();
          for (int r = 0; r < worldSize; r++) {
            if (r != self && phase.frames[r] == null) {
              absent.add(r);
            }
          }
          missing =
              "rank "
                  + self
                  + ": "
                  + phase.key
                  + " timed out after "
                  + timeoutNanos / 1_000_000
                  + " ms waiting for the frames of rank(s) "
                  + absent;
        }
      }
      if (missing != null) {
        onProtocolError.accept(new MeshException(missing));
        return;
      }
    }
  }

  /** Fails every pending and later receive and releases every held frame. */
  void fail(MeshException error) {
    MeshException first = failure;
    if (first == null) {
      failure = error;
      first = error;
    }
    for (Phase phase : phases.values()) {
      failWaiter(phase, first);
    }
  }

  private void failWaiter(Phase phase, MeshException error) {
    MonoSink<PeerFrames> waiter;
    synchronized (phase) {
      waiter = phase.waiter;
      phase.drop();
    }
    if (waiter != null) {
      waiter.error(error);
    }
  }

  boolean failed() {
    return failure != null;
  }
}
