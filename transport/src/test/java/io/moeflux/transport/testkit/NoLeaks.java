package io.moeflux.transport.testkit;

import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/** {@code @ExtendWith(NoLeaks.class)}: fails a test that leaked a Netty buffer. */
public final class NoLeaks implements AfterEachCallback {
  @Override
  public void afterEach(ExtensionContext context) {
    LeakRecorder.assertNoLeaks();
  }
}
