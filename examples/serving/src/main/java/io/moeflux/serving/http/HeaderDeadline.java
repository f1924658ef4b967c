package io.moeflux.serving.http;

import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.LastHttpContent;
import java.time.Duration;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * Closes a connection that has not sent a whole request head within the deadline: from the
 * connection's start, and again after each response (a kept-alive connection waits for its next
 * request under the same rule). Sits after the HTTP codec, which turns a whole head into an {@link
 * HttpRequest}.
 */
final class HeaderDeadline extends ChannelDuplexHandler {
  private final long millis;
  private @Nullable ScheduledFuture<?> pending;

  HeaderDeadline(Duration deadline) {
    this.millis = deadline.toMillis();
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    arm(ctx);
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (msg instanceof HttpRequest) {
      disarm();
    }
    ctx.fireChannelRead(msg);
  }

  @Override
  public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
    if (msg instanceof LastHttpContent) {
      promise.addListener(done -> arm(ctx));
    }
    ctx.write(msg, promise);
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    disarm();
    ctx.fireChannelInactive();
  }

  private void arm(ChannelHandlerContext ctx) {
    disarm();
    if (ctx.channel().isActive() || !ctx.channel().isRegistered()) {
      pending = ctx.executor().schedule(() -> ctx.close(), millis, TimeUnit.MILLISECONDS);
    }
  }

  private void disarm() {
    ScheduledFuture<?> armed = pending;
    if (armed != null) {
      armed.cancel(false);
      pending = null;
    }
  }
}
