"""Verdicts, the coordinators' review queue and 🙋 help: through the real bot."""

from __future__ import annotations

from typing import Any

from review.report import quality_report
from review.service import rejudge_project
from tasks.model import Verdict
from tests.harness import Harness, Phone


async def worker(h: Harness, user_id: int, name: str) -> Phone:
    phone = h.phone(user_id, name)
    await phone.join(await h.invite(name))
    return phone


async def coach(h: Harness, user_id: int = 900, name: str = "지수") -> Phone:
    phone = h.phone(user_id, "Coach")
    await phone.join(await h.invite_coordinator(name))
    return phone


async def answer_first(phone: Phone, choice: str) -> None:
    await phone.tap("▶️")
    await phone.tap(choice)


async def item_row(h: Harness, text: str) -> dict[str, Any]:
    async with h.store.reader() as repo:
        rows = await repo._all("SELECT * FROM items WHERE text = ?", text)
    return dict(rows[0])


async def disputed(h: Harness, texts: list[str], votes: list[str] | list[list[str]]
                   ) -> list[Phone]:
    """Each of `votes` is one worker's answer to every item in `texts`, or their answers item
    by item (overlap = len(votes))."""
    project = await h.project(overlap=len(votes), choices=("🐶 Dog", "🐱 Cat", "🐰 Rabbit"))
    await h.sentences(project, texts)
    phones = []
    for n, vote in enumerate(votes):
        phone = await worker(h, 100 + n, f"w{n}")
        await phone.tap("▶️")
        for i, _ in enumerate(texts):
            await phone.tap(vote if isinstance(vote, str) else vote[i])
        phones.append(phone)
    return phones


async def test_an_item_the_workers_agree_on_is_done(harness: Harness) -> None:
    await disputed(harness, ["one"], ["🐶 Dog", "🐶 Dog", "🐶 Dog"])
    row = await item_row(harness, "one")
    assert (row["verdict"], row["label"], row["confidence"]) == ("agreement", 0, 1.0)


async def test_a_split_item_asks_one_more_worker_up_to_the_maximum_then_goes_to_review(
    harness: Harness,
) -> None:
    await disputed(harness, ["one"], ["🐶 Dog", "🐶 Dog", "🐱 Cat"])
    row = await item_row(harness, "one")
    assert (row["verdict"], row["wanted"], row["status"]) == ("more", 4, "open")
    fourth = await worker(harness, 200, "넷째")
    await answer_first(fourth, "🐶 Dog")  # the item came to a fourth worker
    row = await item_row(harness, "one")
    assert (row["verdict"], row["wanted"]) == ("more", 5)  # 3 of 4 is not yet sure enough
    fifth = await worker(harness, 201, "다섯째")
    await answer_first(fifth, "🐶 Dog")
    row = await item_row(harness, "one")
    assert (row["verdict"], row["review_reason"], row["status"]) == ("review", "split", "filled")
    sixth = await worker(harness, 202, "여섯째")
    await sixth.tap("▶️")
    assert "지금은 할 일이 없어요" in sixth.words()  # the maximum overlap was reached


async def test_ties_and_two_not_sure_go_straight_to_review(harness: Harness) -> None:
    await disputed(harness, ["tie"], ["🐶 Dog", "🐱 Cat"])
    assert (await item_row(harness, "tie"))["review_reason"] == "tie"


async def test_two_not_sure_go_to_review(harness: Harness) -> None:
    await disputed(harness, ["unclear"], ["🤔", "🤔", "🐶 Dog"])
    row = await item_row(harness, "unclear")
    assert (row["verdict"], row["review_reason"]) == ("review", "unsure")


async def test_a_review_lease_keeps_two_coordinators_apart(harness: Harness) -> None:
    await disputed(harness, ["first", "second"], ["🐶 Dog", "🐱 Cat"])
    one, two = await coach(harness, 900, "지수"), await coach(harness, 901, "하나")
    await one.send("/review")
    card = one.screen
    assert "first" in one.words() and "🐶 Dog — 1 · 🐱 Cat — 1 · 🐰 Rabbit — 0" in one.words()
    assert "w0" not in one.words()  # names only when asked
    assert one.buttons() == ["🐶 Dog", "🐱 Cat", "🐰 Rabbit", "🗑 불분명 — 버리기", "⏭ 나중에",
                             "👥 누가 답했나요"]
    await two.send("/review")
    assert "second" in two.words()  # never the item the other one is looking at

    # The second coordinator sends a decision on the first one's item: nothing changes.
    first = (await item_row(harness, "first"))["id"]
    await two.press(f"r.c.{first}.2", two.screen)
    assert "이 항목은 지금 선생님 차례가 아니에요" in two.words()
    assert (await item_row(harness, "first"))["verdict"] == "review"

    await one.tap("👥", card)
    assert "w0: 🐶 Dog, w1: 🐱 Cat" in one.words()
    await one.tap("🐶 Dog", card)
    row = await item_row(harness, "first")
    assert (row["verdict"], row["label"], row["decided_by"]) == ("reviewer", 0, 1)
    assert "✅ 결정했어요: 🐶 Dog" in one.words()
    assert one.buttons() == ["📚 연습에 쓰기", "▶️ 다음"]

    # The same decision again (a double tap): a friendly notice, nothing changed.
    before = await item_row(harness, "first")
    await one.press(f"r.c.{first}.1", one.screen)
    assert "이미 결정한 항목이에요. 바꾼 것은 없어요." in one.words()
    assert await item_row(harness, "first") == before

    # A lease runs out: the item is free for the other coordinator.
    second = (await item_row(harness, "second"))["id"]
    harness.clock.advance(minutes=16)
    await one.send("/review")
    assert "second" in one.words()
    await two.press(f"r.c.{second}.1", two.screen)  # two's lease ran out and one holds it
    assert (await item_row(harness, "second"))["verdict"] == "review"
    assert "선생님 차례가 아니에요" in two.words()
    await one.tap("🐱 Cat")
    assert (await item_row(harness, "second"))["decided_by"] == 1


async def test_later_moves_an_item_to_the_back_and_the_queue_ends_kindly(
    harness: Harness,
) -> None:
    await disputed(harness, ["first", "second"], ["🐶 Dog", "🐱 Cat"])
    one = await coach(harness)
    await one.send("/review")
    harness.clock.advance(seconds=1)
    await one.tap("⏭")
    assert "second" in one.words()
    await one.tap("🗑")
    assert (await item_row(harness, "second"))["verdict"] == "dropped"
    await one.tap("▶️ 다음")
    assert "first" in one.words()
    await one.tap("🐱 Cat")
    await one.tap("▶️ 다음")
    assert one.words() == "지금은 검토할 것이 없어요. 👍"


async def test_no_item_is_routed_to_review_twice(harness: Harness) -> None:
    phones = await disputed(harness, ["tie"], ["🐶 Dog", "🐱 Cat"])
    first = await item_row(harness, "tie")
    harness.clock.advance(minutes=5)
    await phones[0].tap("↩️")  # a worker changes their answer: the item stays where it is
    await phones[0].tap("🐱 Cat")
    await rejudge_project(harness.store.uow, 1, harness.clock(), force=True)
    assert await item_row(harness, "tie") == {**first, "label": first["label"]}
    one = await coach(harness)
    await one.send("/review")
    await one.tap("🐱 Cat")
    await rejudge_project(harness.store.uow, 1, harness.clock(), force=True)
    await one.send("/review")
    assert one.words() == "지금은 검토할 것이 없어요. 👍"
    async with harness.store.reader() as repo:
        assert await repo.review_count() == 0


async def test_a_decision_counts_like_gold_for_the_workers_who_answered(
    harness: Harness,
) -> None:
    await disputed(harness, ["tie"], ["🐶 Dog", "🐱 Cat"])
    one = await coach(harness)
    await one.send("/review")
    await one.tap("🐶 Dog")
    async with harness.store.reader() as repo:
        project = await repo.project(1)
        report = quality_report(project, await repo.project_answers(1))
        ids = {w.name: w.id for n in await repo.worker_names()
               if (w := await repo.worker_by_name(n))}
    by_worker = {line.worker_id: line for line in report.workers}
    assert by_worker[ids["w0"]].gold_accuracy == 1.0
    assert by_worker[ids["w1"]].gold_accuracy == 0.0
    assert by_worker[ids["w1"]].gold_checked == 1


async def test_a_decided_item_can_become_practice(harness: Harness) -> None:
    await disputed(harness, ["tie"], ["🐶 Dog", "🐱 Cat"])
    one = await coach(harness)
    await one.send("/review")
    await one.tap("🐱 Cat")
    await one.tap("📚")
    assert "📚 연습 문제로 넣었어요." in one.words()
    newcomer = await worker(harness, 300, "새내기")
    await newcomer.tap("▶️")
    assert "tie" in newcomer.words() and "연습" in newcomer.words()
    await newcomer.tap("🐶 Dog")
    assert "알맞은 답: 🐱 Cat" in newcomer.words()


async def test_a_dropped_item_cannot_become_practice(harness: Harness) -> None:
    await disputed(harness, ["tie"], ["🐶 Dog", "🐱 Cat"])
    one = await coach(harness)
    await one.send("/review")
    item = (await item_row(harness, "tie"))["id"]
    await one.tap("🗑")
    await one.press(f"r.k.{item}", one.screen)
    async with harness.store.reader() as repo:
        assert not await repo.has_practice(1)


async def test_strangers_and_workers_cannot_review(harness: Harness) -> None:
    phones = await disputed(harness, ["tie"], ["🐶 Dog", "🐱 Cat"])
    await phones[0].send("/review")
    assert "아래 버튼을 눌러서 답해 주세요" in phones[0].words()
    item = (await item_row(harness, "tie"))["id"]
    await phones[0].press(f"r.c.{item}.0", phones[0].screen)
    assert (await item_row(harness, "tie"))["verdict"] == "review"


async def test_help_tells_the_coordinators_once_and_their_reply_reaches_the_worker(
    harness: Harness,
) -> None:
    project = await harness.project()
    await harness.sentences(project, ["a strange animal", "two"])
    one, two = await coach(harness, 900, "지수"), await coach(harness, 901, "하나")
    phone = await worker(harness, 111, "민지")
    await phone.tap("▶️")
    sent_before = len(harness.telegram.messages(900))
    for _ in range(10):
        await phone.tap("🙋")
    assert "🙋 선생님께 벌써 알렸어요." in phone.words()
    assert len(harness.telegram.messages(900)) == sent_before + 1
    assert len(harness.telegram.messages(901)) == sent_before + 1
    note = one.screen
    assert "민지 님이 도움을 청했어요" in one.words() and "a strange animal" in one.words()
    assert "이 메시지에 답장하면" in one.words()
    async with harness.store.reader() as repo:
        assert len(await repo._all("SELECT * FROM help_requests")) == 1

    await one.send("It is a capybara: choose Not sure.", reply_to=note)
    assert "민지 님에게 보냈어요." in one.words()
    reply = phone.chat[-2]
    assert "지수 선생님이 보낸 말이에요" in phone.words(reply)
    assert "It is a capybara" in phone.words(reply) and not phone.buttons(reply)
    assert "a strange animal" in phone.words()  # the screen, drawn anew below the reply
    await phone.tap("🤔")  # the screen under the reply works
    assert "two" in phone.words()
    await two.send("hello")  # not a reply: the usual help for coordinators
    assert "/review" in two.words()


async def test_the_first_help_tap_says_a_coordinator_was_told(harness: Harness) -> None:
    project = await harness.project()
    await harness.sentences(project, ["one"])
    await coach(harness)
    phone = await worker(harness, 111, "민지")
    await phone.tap("▶️")
    await phone.tap("🙋")
    assert phone.words().startswith("🙋 선생님께 알렸어요.\n기다려도 되고, 쉬어도 돼요.")
    assert "one" in phone.words() and "🐶 Dog" in phone.buttons()


async def test_the_model_finishes_items_the_crowd_left_unsure_by_weighing_the_workers(
    harness: Harness,
) -> None:
    # Two workers agree on every item; the third always picks the other animal. The majority
    # is 2 of 3 (not sure enough), but weighing the workers makes the model sure.
    texts = [f"item {i}" for i in range(10)]
    truth = ["🐶 Dog", "🐱 Cat"] * 5
    other = ["🐱 Cat", "🐶 Dog"] * 5
    await disputed(harness, texts, [truth, truth, other])
    assert {(await item_row(harness, t))["verdict"] for t in texts} == {"more"}
    run = await rejudge_project(harness.store.uow, 1, harness.clock())
    assert run is not None and (run.answers, run.moved) == (30, 10) and run.iterations > 1
    rows = [await item_row(harness, t) for t in texts]
    assert {(r["verdict"], r["status"]) for r in rows} == {(Verdict.MODEL, "filled")}
    assert [r["label"] for r in rows] == [0, 1] * 5
    assert min(r["confidence"] for r in rows) >= 0.9
    # Nothing new since: the next scheduled run does nothing.
    assert await rejudge_project(harness.store.uow, 1, harness.clock()) is None


async def test_the_scheduled_job_weighs_each_changed_project(harness: Harness) -> None:
    from types import SimpleNamespace

    from bot.app import judge_job

    texts = [f"item {i}" for i in range(8)]
    truth, other = ["🐶 Dog", "🐱 Cat"] * 4, ["🐱 Cat", "🐶 Dog"] * 4
    await disputed(harness, texts, [truth, truth, other])
    context = SimpleNamespace(application=harness.app)
    await judge_job(context)  # type: ignore[arg-type]
    assert {(await item_row(harness, t))["verdict"] for t in texts} == {"model"}
    async with harness.store.reader() as repo:
        assert await repo.judged_answers(1) == 24


async def test_what_the_crowd_agreed_on_is_not_done_when_the_model_is_not_sure(
    harness: Harness,
) -> None:
    from tasks.model import Role

    # Both workers answer Dog to everything, gold included, where half the answers are Cat:
    # their agreement says nothing, and the model knows it.
    project = await harness.project(overlap=2)
    await harness.sentences(project, [f"work {i}" for i in range(10)])
    await harness.known(project, Role.GOLD, [(f"gold {i}", i % 2) for i in range(10)])
    await harness.rules(project, gold_every=2)
    for n in range(2):
        phone = await worker(harness, 100 + n, f"w{n}")
        await phone.tap("▶️")
        for _ in range(20):
            await phone.tap("🐶 Dog")
    texts = [f"work {i}" for i in range(10)]
    assert {(await item_row(harness, t))["verdict"] for t in texts} == {"agreement"}
    await rejudge_project(harness.store.uow, project, harness.clock(), force=True)
    rows = [await item_row(harness, t) for t in texts]
    assert {(r["verdict"], r["wanted"], r["status"]) for r in rows} == {("more", 3, "open")}
    assert max(r["confidence"] for r in rows) < 0.9


async def test_help_when_no_coordinator_can_be_told_says_so_and_can_be_tried_again(
    harness: Harness,
) -> None:
    project = await harness.project()
    await harness.sentences(project, ["one"])
    await harness.invite_coordinator("지수")  # invited, not joined yet: nobody to tell
    phone = await worker(harness, 111, "민지")
    await phone.tap("▶️")
    await phone.tap("🙋")
    assert phone.words().startswith("🙋 지금은 선생님께 알릴 수 없어요.")
    one = await coach(harness)
    await phone.tap("🙋")
    assert phone.words().startswith("🙋 선생님께 알렸어요.")
    assert "민지 님이 도움을 청했어요" in one.words()


async def test_a_long_reply_to_a_picture_item_reaches_the_worker(harness: Harness) -> None:
    await harness.pictures(await harness.project(), 2)
    one = await coach(harness)
    phone = await worker(harness, 111, "민지")
    await phone.tap("▶️")
    await phone.tap("🙋")
    await one.send("긴 설명 " * 300, reply_to=one.screen)
    assert "민지 님에게 보냈어요." in one.words()
    assert "긴 설명" in phone.words(phone.chat[-2]) and "photo" in phone.screen
