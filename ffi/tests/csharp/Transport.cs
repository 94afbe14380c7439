// A C# transport (DropsClientConfig.Transport) carrying every request over HttpWebRequest to the
// fake Twitch, as a console SDK's HTTP stack would.
//   drain     fulfill every CLAIMED entitlement through it; prints calls=N requests=N
//             listed=N fulfilled=N granted=N (the Rust test compares calls with what the fake saw)
//   failures  a transport that fails (typed and untyped exceptions, null, impossible statuses)
//             gives DropsExceptions, never a crash; Connect failures are retried
//   lifetime  an iterator outlives its disposed client through full collections: the transport
//             still answers; clients with transports left to the GC free every native handle
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net;
using System.Threading;
using TwitchDrops;

static class TransportProgram
{
    /// <summary><paramref name="text"/> as a JSON string literal.</summary>
    static string Json(string text)
    {
        var out_ = new System.Text.StringBuilder("\"");
        foreach (var c in text)
        {
            if (c == '"' || c == '\\') out_.Append('\\').Append(c);
            else if (c < ' ') out_.AppendFormat("\\u{0:x4}", (int)c);
            else out_.Append(c);
        }
        return out_.Append('"').ToString();
    }

    static DropsClientConfig Config(Func<DropsHttpRequest, DropsHttpResponse> transport)
    {
        var config = T.Config();
        config.Transport = transport;
        return config;
    }

    static void Collect()
    {
        for (var i = 0; i < 3; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
    }

    static int Drain()
    {
        var web = new WebTransport();
        var granted = new HashSet<string>();
        var twice = 0;
        using (var client = new DropsClient(Config(web.Send)))
        using (var journal = Journal.Memory())
        {
            var report = client.Fulfill(new FulfillOptions { GameId = T.Env("TWITCH_GAME_ID") }, journal, request =>
            {
                if (!granted.Add(request.Id)) twice++;
                return GrantOutcome.Granted;
            });
            T.Check(report.IsComplete, "the run completed: " + report);
            T.Check(twice == 0, "nothing granted twice");
            T.Check(web.Calls == client.RequestsSent, "every request the client sent went through the transport: " + web.Calls + " vs " + client.RequestsSent);
            Console.WriteLine("calls={0} requests={1} listed={2} fulfilled={3} granted={4}",
                web.Calls, client.RequestsSent, report.Listed, report.Fulfilled, granted.Count);
        }
        return 0;
    }

    static DropsException Refused(Func<DropsHttpRequest, DropsHttpResponse> transport, string what)
    {
        using (var client = new DropsClient(Config(transport)))
        {
            var failure = T.Throws<DropsException>(
                () => client.Entitlements(new EntitlementQuery { GameId = T.Env("TWITCH_GAME_ID") }).First(), what);
            T.Check(failure.Code == DropsErrorCode.Transport, what + ": code " + failure.Code);
            T.Check(failure.HttpStatus == 0, what + ": no HTTP status");
            T.Check(!failure.Message.Contains(T.Env("TWITCH_CLIENT_SECRET")), what + ": no secret in the message");
            return failure;
        }
    }

    static int Failures()
    {
        // Typed Connect failures are retried once the client has reached Twitch (before, they
        // fail at once: a wrong URL): the token, two refused connections, then the real thing.
        var web = new WebTransport();
        var refusals = 0;
        using (var client = new DropsClient(Config(request =>
        {
            if (web.Calls > 0 && refusals < 2)
            {
                refusals++;
                throw new DropsTransportException(TransportErrorKind.Connect, "connection refused (test)");
            }
            return web.Send(request);
        })))
        {
            var first = client.Entitlements(new EntitlementQuery { GameId = T.Env("TWITCH_GAME_ID"), First = 5 }).Take(5).ToList();
            T.Check(first.Count == 5, "a page after two refused connections");
            T.Check(client.RequestsSent == web.Calls + refusals, "the refused attempts count as sent");
        }

        // A transport that throws anything else, returns null or an impossible status: a
        // DropsException naming it, the process alive.
        var thrown = Refused(r => { throw new InvalidOperationException("the console's network is down"); }, "a throwing transport");
        T.Check(thrown.Message.Contains("InvalidOperationException") && thrown.Message.Contains("the console's network is down"),
            "the exception is named: " + thrown.Message);
        var typed = Refused(r => { throw new DropsTransportException(TransportErrorKind.Refused, "no route for this host (test)"); }, "a refusing transport");
        T.Check(typed.Message.Contains("no route for this host (test)"), "the transport's message: " + typed.Message);
        var none = Refused(r => null, "a transport returning null");
        T.Check(none.Message.Contains("null"), "null named: " + none.Message);
        var status = Refused(r => new DropsHttpResponse(42), "status 42");
        T.Check(status.Message.Contains("42"), "the status named: " + status.Message);

        // What the transport sees: the request, with no credential in its ToString.
        DropsHttpRequest seen = null;
        using (var client = new DropsClient(Config(request =>
        {
            if (request.Url.Contains("/helix/")) seen = request;
            return web.Send(request);
        })))
        {
            client.Entitlements(new EntitlementQuery { GameId = T.Env("TWITCH_GAME_ID"), First = 1 }).First();
        }
        T.Check(seen != null && seen.Method == "GET" && seen.Url.Contains("game_id=" + T.Env("TWITCH_GAME_ID")), "a Helix GET: " + seen);
        T.Check(seen.Header("client-id") == T.Env("TWITCH_CLIENT_ID"), "Client-Id sent");
        var authorization = seen.Header("Authorization");
        T.Check(authorization != null && authorization.StartsWith("Bearer "), "a bearer token sent");
        T.Check(!seen.ToString().Contains(authorization.Substring(7)), "no token in ToString: " + seen);
        T.Check(Config(web.Send).ToString().Contains("Transport = custom"), "the config says a transport is set");

        // Issue 16: a server that echoes the request (the client secret in the token form, then
        // the bearer token) in its error body, and a transport whose exception quotes the
        // secret, get no secret into a DropsException.
        var secret = T.Env("TWITCH_CLIENT_SECRET");
        string token = null;
        Func<DropsHttpRequest, DropsHttpResponse> echo = request =>
        {
            if (request.Url.Contains("/oauth2/token") && token == null)
            {
                return web.Send(request); // a real token first, so Helix sees a bearer token
            }
            var whole = request.Method + " " + request.Url + "\n"
                + string.Join("\n", request.Headers.Select(h => h.Key + ": " + h.Value)) + "\n\n"
                + System.Text.Encoding.UTF8.GetString(request.Body);
            var bearer = request.Header("Authorization");
            if (bearer != null) token = bearer.Substring(7);
            var body = "{\"error\":\"Bad Request\",\"status\":400,\"message\":" + Json(whole) + "}";
            return new DropsHttpResponse(400) { Body = System.Text.Encoding.UTF8.GetBytes(body) };
        };
        using (var client = new DropsClient(Config(echo)))
        {
            var echoed = T.Throws<DropsException>(
                () => client.Entitlements(new EntitlementQuery { GameId = T.Env("TWITCH_GAME_ID") }).First(), "an echoing server");
            var shown = echoed.Message + "\n" + echoed.TwitchMessage + "\n" + echoed;
            T.Check(token != null && token.Length >= 8, "a bearer token was sent");
            T.Check(!shown.Contains(secret) && !shown.Contains(token), "no secret in the exception: " + shown);
            T.Check(echoed.TwitchMessage.Contains("<redacted>"), "the echo came back: " + shown);
        }
        var quoting = Refused(r => { throw new InvalidOperationException("proxy said: client_secret=" + secret); },
            "a transport quoting the secret");
        T.Check(quoting.Message.Contains("<redacted>"), "the quote was cut: " + quoting.Message);
        Console.WriteLine("failures: ok");
        return 0;
    }

    static IEnumerator<Entitlement> OpenIterator(WebTransport web)
    {
        // The client and its config go out of scope here; only the iterator is kept.
        var client = new DropsClient(Config(web.Send));
        var iterator = client.Entitlements(new EntitlementQuery { GameId = T.Env("TWITCH_GAME_ID"), First = 100 }).GetEnumerator();
        T.Check(iterator.MoveNext(), "a first entitlement");
        client.Dispose();
        return iterator;
    }

    static int Lifetime()
    {
        var baseline = DropsDiagnostics.LiveNativeHandles;
        var web = new WebTransport();
        var iterator = OpenIterator(web);
        Collect();
        var callsBefore = web.Calls;
        var count = 1;
        while (iterator.MoveNext()) count++;
        iterator.Dispose();
        T.Check(web.Calls > callsBefore, "the iterator kept using the transport after its client was disposed");
        iterator = null;
        Collect();
        T.Check(DropsDiagnostics.LiveNativeHandles == baseline, "everything freed: " + (DropsDiagnostics.LiveNativeHandles - baseline));

        // Clients with transports, never disposed: their finalizers free every native handle.
        for (var round = 0; round < 3; round++)
        {
            for (var i = 0; i < 1000; i++)
            {
                new DropsClient(Config(web.Send));
            }
            Collect();
            T.Check(DropsDiagnostics.LiveNativeHandles == baseline, "round " + round + ": " + (DropsDiagnostics.LiveNativeHandles - baseline) + " left");
        }
        Console.WriteLine("lifetime: ok listed={0}", count);
        return 0;
    }

    static int Main(string[] args)
    {
        switch (args.Length > 0 ? args[0] : "")
        {
            case "drain": return Drain();
            case "failures": return Failures();
            case "lifetime": return Lifetime();
            default:
                Console.Error.WriteLine("usage: Transport.exe drain|failures|lifetime");
                return 2;
        }
    }
}
