// EventSub from C#: a webhook server (HttpListener on loopback) whose every request goes
// through EventSub.Handle, with the fake Twitch delivering to it over real HTTP: batches of
// grants fulfilled through FulfillEntitlements, a redelivery answered and not acted on, stale
// and forged messages refused, a delivery log that throws answered 503 and the redelivery then
// acted on; the verification challenge and a tampered one fed directly; the Deduplicator.
//
// args: first|restart JOURNAL DELIVERY_LOG
// env: TWITCH_*, TD_TEST_BASE_URL, TD_TEST_EVENTSUB_SECRET, TD_TEST_CHALLENGE_BODY,
//      TD_TEST_CHALLENGE_SIGNATURE, TD_TEST_CHALLENGE_ID, TD_TEST_CHALLENGE_TIMESTAMP,
//      TD_TEST_CHALLENGE_NOW_MS, TD_TEST_CHALLENGE (the challenge string)
// prints: "delivered <id>" per entitlement pushed, then
//         eventsub: grants=N repeated=N refused=N not_recorded=N granted=N
using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using System.Threading;
using TwitchDrops;

/// <summary>A durable delivery log: message ids in a file, one a line (a studio's database).</summary>
sealed class FileDeliveryLog : IEventSubDeliveryLog
{
    private readonly string path;
    private readonly HashSet<string> seen;
    public volatile bool Broken;

    public FileDeliveryLog(string path)
    {
        this.path = path;
        seen = new HashSet<string>(File.Exists(path) ? File.ReadAllLines(path) : new string[0]);
    }

    public bool FirstDelivery(string messageId, long nowMs)
    {
        if (Broken) throw new IOException("the database is down");
        lock (seen)
        {
            if (!seen.Add(messageId)) return false;
            File.AppendAllText(path, messageId + "\n");
            return true;
        }
    }
}

static class EventSubMain
{
    static string secret;
    static FileDeliveryLog log;
    static readonly BlockingCollection<EventSubHandled> handled = new BlockingCollection<EventSubHandled>();

    static List<KeyValuePair<string, string>> Headers(string type, string id, string timestamp, string signature)
    {
        return new List<KeyValuePair<string, string>>
        {
            new KeyValuePair<string, string>("Twitch-Eventsub-Message-Id", id),
            new KeyValuePair<string, string>("twitch-eventsub-message-timestamp", timestamp),
            new KeyValuePair<string, string>("TWITCH-EVENTSUB-MESSAGE-SIGNATURE", signature),
            new KeyValuePair<string, string>("Twitch-Eventsub-Message-Type", type),
            new KeyValuePair<string, string>("Twitch-Eventsub-Subscription-Type", "drop.entitlement.grant"),
        };
    }

    /// <summary>The challenge and a tampered copy, fed directly, with a Deduplicator.</summary>
    static void Challenge()
    {
        var body = Encoding.UTF8.GetBytes(T.Env("TD_TEST_CHALLENGE_BODY"));
        var headers = Headers("webhook_callback_verification", T.Env("TD_TEST_CHALLENGE_ID"),
            T.Env("TD_TEST_CHALLENGE_TIMESTAMP"), T.Env("TD_TEST_CHALLENGE_SIGNATURE"));
        var now = DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(T.Env("TD_TEST_CHALLENGE_NOW_MS")));
        using (var dedup = new Deduplicator())
        {
            var ok = EventSub.Handle(headers, body, secret, dedup, now);
            T.Check(ok.Kind == EventSubKind.Verification, "a verification: " + ok);
            T.Check(ok.ResponseStatus == 200 && ok.ResponseBody == T.Env("TD_TEST_CHALLENGE"), "answered with the challenge");
            T.Check(ok.ResponseContentType.StartsWith("text/plain"), "as text: " + ok.ResponseContentType);
            T.Check(ok.Entitlements.Count == 0 && ok.Error == null, "nothing to grant");

            var tampered = (byte[])body.Clone();
            tampered[tampered.Length - 2] ^= 1;
            var bad = EventSub.Handle(headers, tampered, secret, dedup, now);
            T.Check(bad.Kind == EventSubKind.Refused && bad.ResponseStatus == 403, "a tampered body is refused: " + bad);
            T.Check(bad.Error.Code == DropsErrorCode.EventSubBadSignature, "a bad signature: " + bad.Error.Code);
            var wrongSecret = EventSub.Handle(headers, body, "not-the-secret", dedup, now);
            T.Check(wrongSecret.Kind == EventSubKind.Refused && wrongSecret.ResponseStatus == 403, "another secret is refused");
            var late = EventSub.Handle(headers, body, secret, dedup, now.AddMinutes(11));
            T.Check(late.Kind == EventSubKind.Refused && late.Error.Code == DropsErrorCode.EventSubStale, "stale: " + late);
            var missing = EventSub.Handle(headers.Take(3).ToList(), body, secret, dedup, now);
            T.Check(missing.ResponseStatus == 400 && missing.Error.Code == DropsErrorCode.EventSubMalformed, "a missing header: " + missing);
            foreach (var refused in new[] { bad, wrongSecret, late, missing })
            {
                T.Check(!refused.ResponseBody.Contains(secret) && !refused.Error.Message.Contains(secret)
                    && !refused.ToString().Contains(secret), "no secret in a refusal");
            }

            T.Check(dedup.FirstTime("m-1", now) && !dedup.FirstTime("m-1", now), "a deduplicator remembers");
            T.Check(dedup.Count == 1 && dedup.Forget("m-1") && dedup.FirstTime("m-1", now), "and forgets");
            T.Throws<ArgumentNullException>(() => EventSub.Handle(null, body, secret, dedup, now), "null headers");
            T.Throws<ArgumentNullException>(() => EventSub.Handle(headers, body, null, dedup, now), "null secret");
            T.Throws<ArgumentNullException>(() => EventSub.Handle(headers, body, secret, (IEventSubDeliveryLog)null, now), "null log");
            T.Throws<ArgumentOutOfRangeException>(() => new Deduplicator(-1), "a negative capacity");
        }
    }

    /// <summary>The webhook: every request through EventSub.Handle, answered as it says.</summary>
    static void Serve(HttpListener listener)
    {
        while (true)
        {
            HttpListenerContext context;
            try
            {
                context = listener.GetContext();
            }
            catch (Exception)
            {
                return;
            }
            // example: webhook
            var request = context.Request;
            var headers = request.Headers.AllKeys
                .Select(name => new KeyValuePair<string, string>(name, request.Headers[name])).ToList();
            byte[] body;
            using (var buffer = new MemoryStream())
            {
                request.InputStream.CopyTo(buffer);
                body = buffer.ToArray();
            }
            var result = EventSub.Handle(headers, body, secret, log);
            context.Response.StatusCode = result.ResponseStatus;
            if (result.ResponseContentType.Length > 0) context.Response.ContentType = result.ResponseContentType;
            var answer = Encoding.UTF8.GetBytes(result.ResponseBody);
            context.Response.OutputStream.Write(answer, 0, answer.Length);
            context.Response.Close();
            // end example
            handled.Add(result);
        }
    }

    static int FreePort()
    {
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        return port;
    }

    /// <summary>Asks the fake to deliver; returns the status the webhook answered.</summary>
    static int Deliver(string callback, string fields)
    {
        var request = (HttpWebRequest)WebRequest.Create(T.Env("TD_TEST_BASE_URL") + "/_fake/eventsub/deliver");
        request.Method = "POST";
        request.ContentType = "application/json";
        var json = Encoding.UTF8.GetBytes("{\"callback\":\"" + callback + "\",\"secret\":\"" + secret + "\"" + fields + "}");
        using (var stream = request.GetRequestStream()) stream.Write(json, 0, json.Length);
        using (var response = (HttpWebResponse)request.GetResponse())
        using (var reader = new StreamReader(response.GetResponseStream()))
        {
            var text = reader.ReadToEnd();
            var status = int.Parse(Regex.Match(text, "\"status\":(\\d+)").Groups[1].Value);
            // What was accepted is to be granted; a refused message's grants stay CLAIMED.
            if (status == 204)
            {
                foreach (Match id in Regex.Matches(Regex.Match(text, "\"entitlement_ids\":\\[([^\\]]*)\\]").Groups[1].Value, "\"([^\"]+)\""))
                {
                    Console.WriteLine("delivered " + id.Groups[1].Value);
                }
            }
            return status;
        }
    }

    static int Main(string[] args)
    {
        var phase = args[0];
        secret = T.Env("TD_TEST_EVENTSUB_SECRET");
        log = new FileDeliveryLog(args[2]);
        if (phase == "first") Challenge();

        var port = FreePort();
        var callback = "http://127.0.0.1:" + port + "/webhooks/twitch";
        var listener = new HttpListener();
        listener.Prefixes.Add("http://127.0.0.1:" + port + "/");
        listener.Start();
        var server = new Thread(() => Serve(listener)) { IsBackground = true };
        server.Start();

        int grants = 0, repeated = 0, refused = 0, notRecorded = 0;
        long granted = 0;
        var grantedIds = new HashSet<string>();
        using (var client = new DropsClient(T.Config()))
        using (var journal = Journal.File(args[1]))
        {
            Func<GrantRequest, GrantOutcome> grant = request =>
            {
                T.Check(grantedIds.Add(request.Id), "granted once: " + request.Id);
                return GrantOutcome.Granted;
            };
            Action<int, string> expect = (status, fields) =>
            {
                var answered = Deliver(callback, fields);
                var result = handled.Take();
                T.Check(answered == result.ResponseStatus && answered == status,
                    "the webhook answered " + answered + " (" + result + "), expected " + status);
                switch (result.Kind)
                {
                    case EventSubKind.Grants:
                        grants++;
                        var report = client.FulfillEntitlements(result.Entitlements, null, journal, grant);
                        T.Check(report.IsComplete && report.Fulfilled == result.Entitlements.Count, "fulfilled: " + report);
                        granted += report.Granted;
                        break;
                    case EventSubKind.Repeated: repeated++; break;
                    case EventSubKind.Refused: refused++; break;
                    case EventSubKind.NotRecorded:
                        notRecorded++;
                        T.Check(result.Error.Message.Contains("the database is down"), "says why: " + result.Error.Message);
                        break;
                }
            };
            if (phase == "first")
            {
                expect(204, ",\"count\":30");
                expect(204, ",\"replay\":true");
                expect(403, ",\"count\":1,\"stale\":true");
                expect(403, ",\"count\":1,\"bad_signature\":true");
                log.Broken = true;
                expect(503, ",\"count\":20");
                log.Broken = false;
                expect(204, ",\"replay\":true");
                T.Throws<ArgumentException>(() => client.FulfillEntitlements(
                    client.Entitlements(new EntitlementQuery { First = 1 }).Take(1), null, journal, grant), "a listed entitlement");
            }
            else
            {
                // A new process, the same delivery log: the last message again is a repeat.
                expect(204, ",\"replay\":true");
            }
        }
        listener.Stop();
        Console.WriteLine("eventsub: grants=" + grants + " repeated=" + repeated + " refused=" + refused
            + " not_recorded=" + notRecorded + " granted=" + granted);
        return 0;
    }
}
