// The main job through the C# layer against the fake: every CLAIMED entitlement of the game
// listed through IEnumerable paging (200 a page), then marked FULFILLED with the Task API
// while this "main thread" keeps ticking frames; each id's outcome checked.
// Prints: listed=N fulfilled=N requests=N frames=N pages=N
using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using TwitchDrops;

static class Drain
{
    static int Main()
    {
        using (var client = new DropsClient(T.Config()))
        {
            var claimed = new EntitlementQuery { GameId = T.Env("TWITCH_GAME_ID"), Status = FulfillmentStatus.Claimed, First = 200 };
            var pages = client.EntitlementPages(claimed).ToList();
            var ids = pages.SelectMany(page => page).Select(e => e.Id).ToList();
            T.Check(ids.Count > 0, "something to drain");
            T.Check(pages.Take(pages.Count - 1).All(page => page.Count == 200), "full pages of 200");
            T.Check(ids.Distinct().Count() == ids.Count, "each entitlement listed once");

            var task = client.UpdateEntitlementsAsync(ids, FulfillmentStatus.Fulfilled);
            var frames = 0;
            while (!task.IsCompleted)
            {
                frames++;
                Thread.Sleep(1);
            }
            var report = task.Result;
            T.Check(report.AllSucceeded, "every id succeeded");
            T.Check(report.Outcomes.Count == ids.Count, "an outcome per id");
            T.Check(report.Outcomes.All(o => o.Status == UpdateStatus.Success), "all Success");
            T.Check(report.StatusOf(ids[0]) == UpdateStatus.Success, "StatusOf");
            T.Check(report.Unconfirmed.Count == 0, "nothing unconfirmed");

            // The list is empty now, through the enumerable as through the Task.
            T.Check(!client.Entitlements(claimed).Any(), "nothing CLAIMED left");
            T.Check(client.ListEntitlementsAsync(claimed).Result.Count == 0, "ListEntitlementsAsync agrees");
            Console.WriteLine("listed={0} fulfilled={1} requests={2} frames={3} pages={4}",
                ids.Count, report.Outcomes.Count, client.RequestsSent, frames, pages.Count);
        }
        return 0;
    }
}
