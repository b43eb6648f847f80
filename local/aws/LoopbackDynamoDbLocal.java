// Layer flow: local/aws/dynamodb-local.ts (compiled once, then run with DynamoDB Local's jars) -> DynamoDB
// Local, started as its own command line would start it, but listening on 127.0.0.1 only (it has no option for
// that) and answering only requests that carry the guard token of this run (the loopback front that verifies
// each request's signature adds it). Anything else gets 403 before it reaches DynamoDB Local.
import java.lang.reflect.Field;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Callback;
import software.amazon.dynamodb.services.local.main.ServerRunner;
import software.amazon.dynamodb.services.local.server.DynamoDBProxyServer;

public final class LoopbackDynamoDbLocal {
  private LoopbackDynamoDbLocal() {}

  public static void main(String[] args) throws Exception {
    String token = System.getenv("LOCAL_GUARD_TOKEN");
    if (token == null || token.length() < 32) {
      throw new IllegalStateException("LOCAL_GUARD_TOKEN must hold this run's guard token");
    }
    DynamoDBProxyServer proxy = ServerRunner.createServerFromCommandLineArgs(args);
    // The Jetty server DynamoDB Local built, before it starts: bind its connectors to loopback.
    Field field = DynamoDBProxyServer.class.getDeclaredField("server");
    field.setAccessible(true);
    Server server = (Server) field.get(proxy);
    for (Connector connector : server.getConnectors()) {
      if (connector instanceof ServerConnector serverConnector) serverConnector.setHost("127.0.0.1");
    }
    server.setHandler(new Handler.Wrapper(server.getHandler()) {
      @Override
      public boolean handle(Request request, Response response, Callback callback) throws Exception {
        if (!token.equals(request.getHeaders().get("x-local-guard-token"))) {
          Response.writeError(request, response, callback, 403);
          return true;
        }
        return super.handle(request, response, callback);
      }
    });
    proxy.start();
    System.out.println("LoopbackDynamoDbLocal listening on " + server.getURI());
    proxy.join();
  }
}
