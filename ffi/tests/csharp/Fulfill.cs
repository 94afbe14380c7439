// The fulfillment engine through the C# layer, with a file journal.
//   fulfill.exe mixed JOURNAL: a grant function that throws for some entitlements, answers
//     RetryLater, Failed(reason) or default(GrantOutcome) for others and Granted for the rest,
//     and a settlement handler that throws every time. The process must survive, the report
//     must count every answer, and each entitlement not granted is printed ("left ID") so the
//     Rust test can check the fake still has it CLAIMED.
//   fulfill.exe rest JOURNAL: FulfillAsync with a grant that always grants: the rest.
// Prints: granted=N thrown=N retry=N failed=N fulfilled=N listed=N
using System;
using System.Collections.Generic;
using System.Linq;
using TwitchDrops;

static class Fulfill
{
    static int Main(string[] args)
    {
        var mode = args[0];
        using (var client = new DropsClient(T.Config()))
        using (var journal = Journal.File(args[1]))
        {
            var granted = new List<string>();
            var left = new List<string>();
            var settled = new Dictionary<string, Settlement>();
            int thrown = 0, retry = 0, failed = 0, reasons = 0, calls = 0;
            var options = new FulfillOptions
            {
                GameId = T.Env("TWITCH_GAME_ID"),
                OnSettled = s => { settled[s.Id] = s; throw new InvalidOperationException("a settlement handler that throws"); },
            };
            Func<GrantRequest, GrantOutcome> grant;
            if (mode == "mixed")
            {
                grant = request =>
                {
                    calls++;
                    T.Check(!request.Resumed && request.GameId == options.GameId && request.UserId.Length > 0, "a fresh request: " + request);
                    if (calls % 3 == 0)
                    {
                        thrown++;
                        left.Add(request.Id);
                        // A nested run on the journal in use is refused (it would hand the
                        // native run the same journal twice): that refusal is this grant's throw.
                        if (calls == 3) client.Fulfill(options, journal, r => GrantOutcome.Granted);
                        throw new InvalidOperationException("the game's inventory is down");
                    }
                    if (calls % 5 == 0) { retry++; left.Add(request.Id); return GrantOutcome.RetryLater; }
                    if (calls % 7 == 0) { failed++; reasons++; left.Add(request.Id); return GrantOutcome.Failed("no linked account"); }
                    if (calls == 1) { failed++; left.Add(request.Id); return default(GrantOutcome); }
                    granted.Add(request.Id);
                    return GrantOutcome.Granted;
                };
            }
            else
            {
                grant = request => { granted.Add(request.Id); return GrantOutcome.Granted; };
            }
            var report = mode == "mixed" ? client.Fulfill(options, journal, grant) : client.FulfillAsync(options, journal, grant).Result;

            T.Check(report.Granted == granted.Count && report.Fulfilled == granted.Count, "granted = fulfilled = " + granted.Count + ": " + report);
            T.Check(report.GrantFailed == thrown + failed, "GrantFailed counts the throws: " + report.GrantFailed);
            T.Check(report.RetryLater == retry, "RetryLater");
            T.Check(report.GrantExceptionCount == thrown && report.GrantExceptions.Count == Math.Min(thrown, 100), "the exceptions kept (the first 100)");
            T.Check(report.GrantExceptions.All(e => e is InvalidOperationException), "the grant's own exceptions");
            if (mode == "mixed")
            {
                T.Check(report.GrantExceptions.Count(e => e.Message.Contains("already in a run on this thread")) == 1,
                        "the nested run on the same journal was refused");
            }
            T.Check(report.Listed == granted.Count + left.Count && report.Left == left.Count, "every entitlement accounted for");
            T.Check(report.IsComplete == (left.Count == 0), "IsComplete");
            T.Check(settled.Count == report.Listed, "a settlement for each, though the handler throws");
            foreach (var id in left)
            {
                var s = settled[id];
                T.Check(s.State == SettledState.RetryLater || s.State == SettledState.GrantFailed, "left CLAIMED: " + s);
            }
            var nested = mode == "mixed" ? 1 : 0;
            T.Check(settled.Values.Count(s => s.Detail.Contains("threw System.InvalidOperationException: the game's inventory is down")) == thrown - nested,
                "a throw's reason names the exception");
            T.Check(settled.Values.Count(s => s.Detail == "no linked account") == reasons, "Failed's reason");
            foreach (var id in left) Console.WriteLine("left " + id);
            Console.WriteLine("granted={0} thrown={1} retry={2} failed={3} fulfilled={4} listed={5}",
                granted.Count, thrown, retry, failed, report.Fulfilled, report.Listed);
        }
        return 0;
    }
}
