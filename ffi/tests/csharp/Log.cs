// What the client tells, through C#: a Log at Debug against a faulty fake hears one warning
// per retry and one line per request, MetricsJson counts the same, no line holds the client
// secret; a Log that throws loses its line, never the call.
// Prints: lines=N retries=N requests=N
using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.RegularExpressions;
using TwitchDrops;

static class LogProgram
{
    static int Main()
    {
        var lines = new List<string>();
        var config = T.Config();
        config.LogLevel = DropsLogLevel.Debug;
        config.Log = (level, target, message) =>
        {
            lock (lines) lines.Add(level + " " + target + " " + message);
        };
        T.Check(config.ToString().Contains("Log = Debug"), "ToString shows the log level: " + config);
        using (var client = new DropsClient(config))
        {
            var claimed = new EntitlementQuery { GameId = T.Env("TWITCH_GAME_ID"), Status = FulfillmentStatus.Claimed };
            var ids = client.Entitlements(claimed).Select(e => e.Id).ToList();
            var report = client.UpdateEntitlements(ids, FulfillmentStatus.Fulfilled);
            T.Check(report.AllSucceeded, "every id succeeded");

            var metrics = client.MetricsJson;
            var retries = Sum(Regex.Match(metrics, "\"retries\":\\{([^}]*)\\}").Groups[1].Value);
            var retryLines = lines.Count(l => l.StartsWith("Warn twitch_drops::retry "));
            var requestLines = lines.Count(l => l.StartsWith("Debug twitch_drops::http "));
            T.Check(retryLines == retries, "a warning per retry: " + retryLines + " vs " + metrics);
            T.Check(requestLines == client.RequestsSent, "a line per request: " + requestLines + " vs " + client.RequestsSent);
            var secret = T.Env("TWITCH_CLIENT_SECRET");
            T.Check(lines.All(l => !l.Contains(secret) && !l.Contains("Bearer")), "no secret in a line");
            Console.WriteLine("lines={0} retries={1} requests={2}", lines.Count, retries, client.RequestsSent);
        }

        var throwing = T.Config();
        throwing.LogLevel = DropsLogLevel.Debug;
        throwing.Log = (level, target, message) => { throw new InvalidOperationException("the log broke"); };
        using (var client = new DropsClient(throwing))
        {
            var any = client.Entitlements(new EntitlementQuery { GameId = T.Env("TWITCH_GAME_ID") }).Take(1).ToList();
            T.Check(any.Count == 1, "a throwing Log does not stop a call");
        }
        return 0;
    }

    /// <summary>The sum of the numbers in `"a":1,"b":2`.</summary>
    static int Sum(string pairs)
    {
        return Regex.Matches(pairs, ":(\\d+)").Cast<Match>().Sum(m => int.Parse(m.Groups[1].Value));
    }
}
