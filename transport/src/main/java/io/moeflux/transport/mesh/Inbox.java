package io.moeflux.transport.mesh;

import io.moeflux.transport.InboundLimits;
import io.moeflux.transport.MeshException;
import io.moeflux.transport.PeerFrames;
import io.moeflux.transport.StepAbortedException;
import io.moeflux.transport.protocol.AbortFrameCodec;
import io.moeflux.transport.protocol.FailureFrameCodec;
import io.moeflux.transport.protocol.FrameHeaderCodec;
import io.moeflux.transport.protocol.FrameKind;
import io.netty.buffer.ByteBuf;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.function.Consumer;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.MonoSink;

/**
 * Frames that arrived, grouped by phase until one frame from every peer is there. A receive
 * completes on the thread that delivered the last frame, or at once if it came late. Every frame is
 * released exactly once: handed to the receiver inside {@link PeerFrames}, or released here on
 * cancel, failure, abort, sweep or close.
 *
 * <p>What a peer can make this rank hold is bounded ({@link InboundLimits}): a DATA frame at most W
 * steps past the last step completed here, frame bytes and CONTROL or BULK phases per peer ({@link
 * PeerQuota}). A frame beyond is a protocol error naming the peer. Phases nobody asks for (frames
 * of a step given up here, or sent by mistake) are swept.
 *
 * <p>An aborted step fails its DATA-lane phases only ({@link StepAbortedException}); a failure of
 * the mesh fails every phase, now and later.
 */
final class Inbox {
  private static final long NO_STEP = Long.MIN_VALUE;

  private final int self;
  private final int worldSize;
  private final long timeoutNanos;
  private final InboundLimits limits;
  private final Consumer<MeshException> onProtocolError;
  private final ConcurrentHashMap<PhaseKey, Phase> phases = new ConcurrentHashMap<>();
  private final Function<PhaseKey, Phase> newPhase;
  private final AbortedSteps aborted;
  private final PeerQuota quota;
  private final AtomicLong lastCompleted = new AtomicLong(NO_STEP);
  private volatile @Nullable MeshException failure;
  private final AtomicReferenceArray<String> departed;
  private final StepOpenings openings = new StepOpenings();
  private final Runnable phaseOpened;

  Inbox(
      int self,
      int worldSize,
      long timeoutNanos,
      InboundLimits limits,
      Consumer<MeshException> onProtocolError,
      Runnable phaseOpened) {
    this.self = self;
    this.worldSize = worldSize;
    this.timeoutNanos = timeoutNanos;
    this.limits = limits;
    this.onProtocolError = onProtocolError;
    this.departed = new AtomicReferenceArray<>(worldSize);
    this.aborted = new AbortedSteps(self);
    this.quota = new PeerQuota(worldSize, limits);
    this.phaseOpened = phaseOpened;
    this.newPhase = key -> new Phase(key, worldSize, System.nanoTime(), phases, quota);
  }

  /** The phase of {@code key}, opened if absent; told to the sweeper once it is in the map. */
  private Phase phase(PhaseKey key) {
    Phase phase = phases.computeIfAbsent(key, newPhase);
    phaseOpened.run();
    return phase;
  }

  /** Whether any phase is open: frames held, or a receive waiting (what {@link #sweep} visits). */
  boolean holdsPhases() {
    return !phases.isEmpty();
  }

  /** A peer left the mesh: every frame it sent has arrived, and no more will come. */
  void departed(int peer, String description) {
    departed.set(peer, description);
  }

  /** Frame bytes held for {@code peer} now. */
  long heldBytes(int peer) {
    return quota.bytes(peer);
  }

  /** Takes ownership of {@code frame} (its header validated), which came from {@code source}. */
  void deliver(int source, ByteBuf frame) {
    if (failure != null) {
      frame.release();
      return;
    }
    FrameKind kind = FrameHeaderCodec.kind(frame);
    if (kind == FrameKind.FAILURE) {
      failureFrom(source, frame);
      return;
    }
    long step = FrameHeaderCodec.step(frame);
    boolean data = kind.lane() == FrameKind.Lane.DATA;
    long last = lastCompleted.get();
    if (data && last != NO_STEP && step > last + limits.stepWindow()) {
      violation(
          source,
          frame,
          "a "
              + kind
              + " frame for step "
              + step
              + ", more than "
              + limits.stepWindow()
              + " steps past step "
              + last);
      return;
    }
    openings.arrived(kind, step, FrameHeaderCodec.layer(frame));
    if (kind == FrameKind.ABORT) {
      abortFrom(source, frame);
      return;
    }
    if (data && aborted.contains(step)) {
      frame.release();
      return;
    }
    if (data && last != NO_STEP && step < last - limits.stepWindow()) {
      // a frame of a step this rank gave up (cancelled or aborted) long ago
      frame.release();
      return;
    }
    String overQuota = quota.refusal(source, kind, frame.readableBytes());
    if (overQuota != null) {
      violation(source, frame, overQuota);
      return;
    }
    PhaseKey key =
        new PhaseKey(kind, step, FrameHeaderCodec.layer(frame), FrameHeaderCodec.micro(frame));
    Phase phase = phase(key);
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
        phase.put(source, frame);
        if (phase.arrived == worldSize - 1 && phase.waiter != null) {
          waiter = phase.waiter;
          complete = phase.take(self);
        }
      }
    }
    if (complete != null) {
      completed(key);
    }
    if (stale) {
      // the phase was given up (cancelled, failed or aborted) while this frame was on its way
      frame.release();
      return;
    }
    if (duplicate) {
      violation(source, frame, "a second frame for " + key);
      return;
    }
    if (waiter != null) {
      waiter.success(complete);
      return;
    }
    MeshException failedNow = failure;
    if (failedNow != null) {
      // the mesh failed while this frame was being put in: fail() may have passed this phase
      failWaiter(phase, failedNow);
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

  /** Releases {@code frame} and fails the mesh: {@code source} broke the protocol. */
  private void violation(int source, ByteBuf frame, String what) {
    frame.release();
    onProtocolError.accept(
        new MeshException("rank " + self + ": rank " + source + " sent " + what));
  }

  /** A DATA phase of {@code key}'s step was handed over: the step window moves on. */
  private void completed(PhaseKey key) {
    if (key.kind().lane() == FrameKind.Lane.DATA) {
      lastCompleted.accumulateAndGet(key.step(), Math::max);
    }
  }

  /** {@code source}'s mesh failed: this one fails with its reason, which names the cause. */
  private void failureFrom(int source, ByteBuf frame) {
    String reason = reasonOf(source, frame, FailureFrameCodec::reason);
    if (reason != null) {
      onProtocolError.accept(
          new MeshException("rank " + self + ": rank " + source + " failed: " + reason));
    }
  }

  private void abortFrom(int source, ByteBuf frame) {
    long step = FrameHeaderCodec.step(frame);
    String reason = reasonOf(source, frame, AbortFrameCodec::reason);
    if (reason != null) {
      abort(step, source, reason);
    }
  }

  /** The reason {@code frame} carries (it is released), or null when it is malformed. */
  private @Nullable String reasonOf(int source, ByteBuf frame, Function<ByteBuf, String> decoder) {
    try {
      return decoder.apply(frame);
    } catch (MeshException e) {
      onProtocolError.accept(
          new MeshException("rank " + self + ": rank " + source + " sent " + e.getMessage(), e));
      return null;
    } finally {
      frame.release();
    }
  }

  /**
   * {@code peer} gave up {@code step}: fails every pending and later receive of a DATA-lane phase
   * of that step, and releases its frames now and as they arrive.
   */
  void abort(long step, int peer, String reason) {
    aborted.add(step, peer, reason);
    long last = lastCompleted.get();
    if (last == NO_STEP || step <= last + limits.stepWindow()) {
      // an aborted step is over too: the window moves past it
      lastCompleted.accumulateAndGet(step, Math::max);
    }
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
    if (key.kind() == FrameKind.ABORT || key.kind() == FrameKind.FAILURE) {
      return Mono.error(
          new IllegalArgumentException(
              key.kind() + " frames are not received: the receives they concern fail instead"));
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
              Phase phase = phase(key);
              PeerFrames ready = null;
              String error = null;
              synchronized (phase) {
                if (phase.claimed || phase.done) {
                  error = "rank " + self + ": " + key + " was asked for twice";
                } else {
                  phase.claimed = true;
                  if (phase.arrived == worldSize - 1) {
                    ready = phase.take(self);
                    completed(key);
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
   * has left; drops orphan phases nobody asked for: DATA phases W steps behind the last completed
   * step, and any phase unclaimed for twice the phase timeout (its sender would have timed out).
   */
  void sweep(long now) {
    long last = lastCompleted.get();
    for (Phase phase : phases.values()) {
      String missing = null;
      synchronized (phase) {
        if (phase.done) {
          continue;
        }
        if (!phase.claimed) {
          boolean behind =
              phase.key.kind().lane() == FrameKind.Lane.DATA
                  && last != NO_STEP
                  && phase.key.step() < last - limits.stepWindow();
          if (behind || now - phase.created > 2 * timeoutNanos) {
            phase.drop();
          }
          continue;
        }
        if (phase.waiter == null) {
          continue;
        }
        for (int r = 0; r < worldSize; r++) {
          String gone = departed.get(r);
          if (r != self && phase.frames[r] == null && gone != null) {
            missing =
                "rank "
                    + self
                    + ": "
                    + gone
                    + " left the mesh while "
                    + phase.key
                    + " still waits for its frame";
          }
        }
        if (missing == null && now - phase.deadline > 0) {
          List<String> absent = new ArrayList<>();
          for (int r = 0; r < worldSize; r++) {
            if (r != self && phase.frames[r] == null) {
              absent.add("rank " + r);
            }
          }
          missing =
              "rank "
                  + self
                  + ": "
                  + phase.key
                  + " timed out after "
                  + timeoutNanos / 1_000_000
                  + " ms waiting for the frames of "
                  + String.join(", ", absent);
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
      if (phase.done) {
        // handed over already: its frames are the receiver's now
        return;
      }
      waiter = phase.waiter;
      phase.drop();
    }
    if (waiter != null) {
      waiter.error(error);
    }
  }

  /** The steps peers opened ({@link StepOpenings}). */
  Flux<Long> stepsOpened() {
    return openings.steps();
  }

  /** No more steps will be opened: the mesh closed. */
  void closeOpenings() {
    openings.close();
  }

  boolean failed() {
    return failure != null;
  }
}
