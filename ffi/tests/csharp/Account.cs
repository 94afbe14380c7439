// The step API and user accounts from C#, against the fake Twitch:
//   steps     pages through BeginEntitlementsPage (RunAsync), then one update of them all
//             driven frame by frame (Update); a cancelled operation; prints steps: pages=N ids=N
//   device    a player's device-code login through the step API (Update once a frame while
//             the code is shown; the fake's admin route approves it), the user token read back,
//             validation, analytics and a report download, each blocking, as a Task and as an
//             operation; prints device: ok user=ID reports=N csv_bytes=N
//   refresh   a stored user token that Twitch refuses, renewed with its refresh token; the new
//             tokens read back to be stored; prints refresh: ok
using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using TwitchDrops;

static class AccountMain
{
    /// <summary>Updates <paramref name="op"/> once a frame (1 ms here) until it is done.</summary>
    static T Frames<T>(DropsOperation<T> op, WebTransport web, Action eachFrame = null)
    {
        op.Sender = web.SendAsync;
        var frames = 0;
        while (op.Update())
        {
            T_.Check(++frames < 100000, "the operation ends");
            if (eachFrame != null) eachFrame();
            Thread.Sleep(1);
        }
        return op.Result;
    }

    static int Steps()
    {
        var web = new WebTransport();
        using (var client = new DropsClient(T.Config()))
        {
            var query = new EntitlementQuery { GameId = T.Env("TWITCH_GAME_ID"), Status = FulfillmentStatus.Claimed, First = 300 };
            var ids = new List<string>();
            var pages = 0;
            while (true)
            {
                EntitlementPage page;
                using (var op = client.BeginEntitlementsPage(query))
                {
                    page = op.RunAsync(web.SendAsync).Result;
                }
                pages++;
                ids.AddRange(page.Entitlements.Select(e => e.Id));
                if (page.Cursor.Length == 0) break;
                query.After = page.Cursor;
            }
            // The same pages through the iterator's step API, and one blocking page.
            var paged = new List<string>();
            using (var paging = client.BeginEntitlementPaging(new EntitlementQuery { GameId = T.Env("TWITCH_GAME_ID"), Status = FulfillmentStatus.Claimed, First = 300 }))
            {
                T.Check(paging.Cursor == "", "no cursor before the first page");
                DropsOperation<EntitlementPage> next;
                while ((next = paging.BeginNext()) != null)
                {
                    using (next)
                    {
                        T.Throws<InvalidOperationException>(() => paging.BeginNext(), "one page at a time");
                        paged.AddRange(Frames(next, web).Entitlements.Select(e => e.Id));
                    }
                }
            }
            T.Check(paged.SequenceEqual(ids), "the iterator's pages are the same: " + paged.Count);

            UpdateReport report;
            using (var op = client.BeginUpdateEntitlements(ids, FulfillmentStatus.Fulfilled))
            {
                report = Frames(op, web);
            }
            T.Check(report.AllSucceeded && report.Outcomes.Count == ids.Count, "every id updated: " + report.Outcomes.Count);
            T.Check(web.Calls == client.RequestsSent, "every request through the sender");
            var one = client.EntitlementsPage(new EntitlementQuery { GameId = T.Env("TWITCH_GAME_ID"), First = 300 });
            T.Check(one.Entitlements.Count == 300 && one.Cursor.Length > 0, "one page, blocking");

            using (var cancel = new CancellationTokenSource())
            using (var op = client.BeginValidateToken())
            {
                cancel.Cancel();
                var thrown = T.Throws<AggregateException>(() => op.RunAsync(web.SendAsync, cancel.Token).Wait(), "cancelled");
                T.Check(thrown.InnerException is OperationCanceledException, "as OperationCanceledException");
                T.Throws<InvalidOperationException>(() => { var r = op.Result; }, "no result before done");
            }
            var nullId = T.Throws<ArgumentNullException>(() => client.BeginUpdateEntitlements(new[] { "a", null }, FulfillmentStatus.Fulfilled), "a null id");
            T.Check(nullId.ParamName == "ids[1]", "names it: " + nullId.ParamName);
            var small = T.Config();
            small.MaxBodyBytes = 64;
            small.RetryPolicy = new DropsRetryPolicy { MaxRetries = 1, BaseDelay = TimeSpan.FromTicks(10000), MaxDelay = TimeSpan.FromTicks(20000) };
            small.ConnectTimeout = TimeSpan.FromSeconds(5);
            small.ReadTimeout = TimeSpan.FromSeconds(5);
            T.Check(DropsRetryPolicy.Default.MaxRetries > 0, "defaults: " + DropsRetryPolicy.Default);
            using (var tiny = new DropsClient(small))
            {
                var tooLarge = T.Throws<DropsException>(() => tiny.EntitlementsPage(new EntitlementQuery { First = 100 }), "a body over MaxBodyBytes");
                T.Check(tooLarge.Code == DropsErrorCode.Transport && tooLarge.TransportKind == TransportErrorKind.TooLarge,
                    "too large: " + tooLarge.Code + " " + tooLarge.TransportKind);
            }
            var zero = T.Throws<ArgumentOutOfRangeException>(() => new DropsClient(new DropsClientConfig("x") { ReadTimeout = TimeSpan.Zero }), "a zero timeout");
            T.Check(zero.ParamName == "ReadTimeout", "names it: " + zero.ParamName);

            // A sender that answers nonsense, throws, or returns no Task: the operation fails
            // as a transport does (after the policy's retries), and Update never throws.
            var strict = T.Config();
            strict.RetryPolicy = new DropsRetryPolicy { MaxRetries = 1, BaseDelay = TimeSpan.FromTicks(10000), MaxDelay = TimeSpan.FromTicks(10000) };
            using (var failing = new DropsClient(strict))
            {
                var senders = new DropsHttpSender[]
                {
                    (request, c) => Task.FromResult(new DropsHttpResponse(200) { Status = 0 }),
                    (request, c) => { throw new InvalidOperationException("the stack is down"); },
                    (request, c) => null,
                    (request, c) => Task.FromResult(new DropsHttpResponse(200).WithHeader("X-Bad", "a\0b")),
                };
                foreach (var sender in senders)
                {
                    using (var op = failing.BeginValidateToken())
                    {
                        op.Sender = sender;
                        for (var frame = 0; op.Update(); frame++)
                        {
                            T.Check(frame < 10000, "the operation ends");
                            Thread.Sleep(1);
                        }
                        var failure = T.Throws<DropsException>(() => { var r = op.Result; }, "a failed send");
                        T.Check(failure.Code == DropsErrorCode.Transport, "a transport failure: " + failure.Code + " " + failure.Message);
                    }
                }
            }
            Console.WriteLine("steps: pages=" + pages + " ids=" + ids.Count);
        }
        return 0;
    }

    static int Device()
    {
        var web = new WebTransport();
        var config = new DropsClientConfig(T.Env("TWITCH_CLIENT_ID"))
        {
            HelixUrl = T.Env("TWITCH_HELIX_URL"),
            AuthUrl = T.Env("TWITCH_AUTH_URL"),
        };
        using (var client = new DropsClient(config))
        {
            T.Check(client.UserToken == null, "no user token yet");
            DeviceCode code;
            using (var op = client.BeginStartDeviceFlow(new[] { "analytics:read:games" }))
            {
                code = Frames(op, web);
            }
            T.Check(code.UserCode.Length > 0 && code.VerificationUri.Length > 0 && code.Interval > 0, "a code: " + code);
            OAuthToken token;
            using (code)
            using (var op = client.BeginFinishDeviceFlow(code))
            {
                var approved = false;
                token = Frames(op, web, () =>
                {
                    if (approved) return;
                    int status;
                    T.Admin("device/" + code.UserCode + "/approve?user_id=100000123", out status);
                    T.Check(status == 204, "approved: " + status);
                    approved = true;
                });
            }
            T.Check(token.AccessToken.Length > 0 && token.RefreshToken.Length > 0, "a user token");
            T.Check(!token.ToString().Contains(token.AccessToken) && !token.ToString().Contains(token.RefreshToken), "redacted");
            T.Check(client.UserToken.AccessToken == token.AccessToken, "the client uses it");

            var info = client.ValidateToken();
            T.Check(info.UserId == "100000123" && info.Scopes.Contains("analytics:read:games"), "validated: " + info);
            T.Check(client.ValidateTokenAsync().Result.UserId == info.UserId, "as a Task");
            using (var op = client.BeginValidateToken())
            {
                T.Check(op.RunAsync(web.SendAsync).Result.UserId == info.UserId, "as an operation");
            }

            // example: analytics
            var query = new AnalyticsQuery { GameId = T.Env("TWITCH_GAME_ID") };
            var page = client.GameAnalytics(query);
            T.Check(page.Reports.Count == 1 && page.Reports[0].Url.Length > 0, "a report: " + page.Reports.Count);
            T.Check(!page.Reports[0].ToString().Contains(page.Reports[0].Url), "the signed URL left out");
            T.Check(client.GameAnalyticsAsync(query).Result.Reports.Count == 1, "as a Task");
            AnalyticsPage stepped;
            using (var op = client.BeginGameAnalytics(query))
            {
                stepped = Frames(op, web);
            }
            var csv = client.DownloadReport(page.Reports[0].Url);
            T.Check(csv.Length > 10, "a CSV");
            // end example
            T.Check(client.DownloadReportAsync(page.Reports[0].Url).Result.Length == csv.Length, "as a Task");
            using (var op = client.BeginDownloadReport(stepped.Reports[0].Url))
            {
                T.Check(Frames(op, web).Length == csv.Length, "as an operation");
            }
            var bad = T.Throws<DropsInvalidInputException>(() => client.GameAnalytics(new AnalyticsQuery { GameId = "1", First = 1000 }), "first");
            T.Check(bad.Field.Length > 0, "names the field: " + bad.Field);
            Console.WriteLine("device: ok user=" + info.UserId + " reports=" + page.Reports.Count + " csv_bytes=" + csv.Length);
        }
        return 0;
    }

    static int Refresh()
    {
        int status;
        var minted = T.Admin("users/100000777/token?scopes=analytics:read:games", out status);
        T.Check(status == 200, "minted: " + status);
        var refresh = T.JsonField(minted, "refresh_token");
        // example: user-token
        var config = new DropsClientConfig(T.Env("TWITCH_CLIENT_ID"))
        {
            ClientSecret = T.Env("TWITCH_CLIENT_SECRET"),
            UserAccessToken = "a-token-twitch-no-longer-takes",
            UserRefreshToken = refresh,
            HelixUrl = T.Env("TWITCH_HELIX_URL"),
            AuthUrl = T.Env("TWITCH_AUTH_URL"),
        };
        T.Check(!config.ToString().Contains(refresh) && !config.ToString().Contains("no-longer-takes"), "config redacted");
        using (var client = new DropsClient(config))
        {
            var info = client.ValidateToken();
            T.Check(info.UserId == "100000777", "renewed and validated: " + info);
            var stored = client.UserToken;
            T.Check(stored.AccessToken != config.UserAccessToken && stored.AccessToken.Length > 0, "a new access token");
            T.Check(stored.RefreshToken != refresh && stored.RefreshToken.Length > 0, "the refresh token rotated");
            T.Check(client.GameAnalytics(new AnalyticsQuery { GameId = T.Env("TWITCH_GAME_ID") }).Reports.Count == 1, "analytics with it");
        }
        // end example
        var alone = T.Throws<ArgumentException>(() => new DropsClient(new DropsClientConfig("x") { UserRefreshToken = "r" }), "a refresh token alone");
        T.Check(alone.ParamName == "UserRefreshToken" && !alone.Message.Contains("\"r\""), "names it: " + alone.ParamName);
        Console.WriteLine("refresh: ok");
        return 0;
    }

    static int Main(string[] args)
    {
        switch (args[0])
        {
            case "steps": return Steps();
            case "device": return Device();
            case "refresh": return Refresh();
        }
        return 2;
    }
}

/// <summary>T under another name, for the generic helper (T is its type parameter there).</summary>
static class T_
{
    public static void Check(bool condition, string what) { T.Check(condition, what); }
}
