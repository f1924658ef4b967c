/** Test support shared by every module: leak recording with paranoid detection. */
package io.moeflux.transport.testkit;
