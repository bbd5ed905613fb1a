"""Data: pick a sample, generate ratings, upload a file or fetch MovieLens; see what you have."""

from __future__ import annotations

import streamlit as st

import als_core as ac
from dashboard import (
    controls,
    data_sources,
    data_summary,
    jobs,
    model_open,
    presenter,
    saved_model,
    scene_url,
    session,
    shell,
    slides,
)
from dashboard.figures import data as figs
from dashboard.text import md_escape

shell.require_app()  # first: a bookmarked page URL on a fresh server runs through app.py

#: The download's job (``dashboard.jobs``) and its key: the same archive for everyone.
MOVIELENS_JOB = "data_movielens"
MOVIELENS_KEY = ("movielens-100k",)


def still_in_use() -> None:
    """Say that what failed changed nothing: the session's data stay."""
    name = md_escape(session.current_dataset().name)
    st.info(f"Your previous dataset, **{name}**, is still in use.")


def sample_tab() -> None:
    names = data_sources.sample_names()
    current = session.current_dataset().source
    default = names.index(current.split(":", 1)[1]) if current.startswith("sample:") else 0
    name = st.selectbox(
        "Sample", names, index=default, key="data_w_sample", format_func=data_sources.sample_label
    )
    st.caption(ac.SAMPLES.get(name, ""))
    if st.button("Use this sample", key="data_use_sample", type="primary"):
        session.set_dataset(data_sources.load_sample_dataset(name))
        st.success(f"Now using {data_sources.sample_label(name)}.")


def generate_tab() -> None:
    with st.form("data_generate_form", border=False):
        cols = st.columns(3)
        n_users = cols[0].number_input("Users", 2, 20_000, 500, step=50, key="data_w_users")
        n_items = cols[1].number_input("Items", 2, 10_000, 300, step=50, key="data_w_items")
        rank = cols[2].number_input("True rank", 1, 20, 3, key="data_w_rank")
        cols = st.columns(3)
        density = cols[0].number_input(
            "Density (share observed)",
            0.001,
            0.5,
            0.05,
            step=0.01,
            format="%.3f",
            key="data_w_density",
        )
        noise = cols[1].number_input(
            "Noise σ", 0.0, 2.0, 0.3, step=0.1, format="%.2f", key="data_w_noise"
        )
        seed = cols[2].number_input("Seed", 0, 2**31 - 1, 0, key="data_w_seed")
        cols = st.columns(3)
        skew = cols[0].slider("Popularity skew", 0.0, 1.5, 0.5, 0.1, key="data_w_skew")
        clusters = cols[1].number_input(
            "Item groups (0 = none)", 0, 12, 4, key="data_w_clusters", help="Needs rank ≥ 2."
        )
        submitted = st.form_submit_button("Generate", type="primary")
    if not submitted:
        return
    try:  # the generator's own limits apply (ac.MAX_SYNTHETIC_RATINGS and co.)
        dataset = data_sources.synthetic_dataset(
            n_users=int(n_users),
            n_items=int(n_items),
            rank=int(rank),
            density=float(density),
            noise=float(noise),
            seed=int(seed),
            popularity_skew=float(skew),
            clusters=int(clusters) if clusters and rank >= 2 else None,
        )
    except data_sources.GeneratorError as error:
        st.error(f"Could not generate these data: {md_escape(error)}")
        still_in_use()
        return
    session.set_dataset(dataset)
    st.success(f"Now using {md_escape(dataset.name)}.")


SEPARATORS = {
    None: "Detect",
    ",": "Comma",
    ";": "Semicolon",
    "\t": "Tab",
    "|": "Pipe",
    "::": "Double colon (::)",
    " ": "Spaces",
}
TRISTATE = {None: "Detect", True: "Yes", False: "No"}
LAYOUTS = {None: "Detect", False: "Long (one rating per row)", True: "Wide (users × items)"}


def upload_tab() -> None:
    st.caption(
        "Long form (one row per user, item, rating, optional timestamp; any common separator, "
        "with or without a header) or wide form (users in rows, items in columns, blanks "
        f"missing). Up to {data_sources.max_upload_mb()} MB. Names of the items (a title per "
        "id, e.g. MovieLens movies.csv) and of the users can come in files of their own."
    )
    left, right = st.columns(2)
    uploaded = left.file_uploader("Ratings file", key="data_w_upload")
    names_files = {
        kind: right.file_uploader(
            label,
            key=f"data_w_{kind}_names",
            help=f"A table with the {kind} id and a {'title' if kind == 'item' else 'name'}"
            + (" (and optionally categories, e.g. genres)" if kind == "item" else "")
            + ", read like the ratings file. Ids without a name keep showing the id.",
        )
        for kind, label in data_sources.NAMES_LABELS.items()
    }
    duplicates = left.selectbox(
        data_sources.DUPLICATES_LABEL,
        list(data_sources.DUPLICATE_CHOICES),
        format_func=data_sources.DUPLICATE_CHOICES.__getitem__,
        key=controls.remembered("data_w_duplicates", data_sources.READ_OPTIONS["duplicates"]),
        help="The same user rating the same item more than once (a re-rating, or a file "
        "joined twice). ALS needs one rating per pair.",
    )
    controls.remember("data_w_duplicates")
    if uploaded is None:
        if any(names_files.values()):
            st.info("Names are matched to the ratings: upload the ratings file too.")
        return
    ss = st.session_state
    options = {
        **ss.get("data_upload_options", {}).get(uploaded.file_id, {}),
        "duplicates": duplicates,
    }
    signature = (uploaded.file_id, repr(sorted(options.items())))
    if ss.get("data_upload_signature") != signature:
        # Parse once per (file, options): reruns do not re-read the bytes.
        ss["data_upload_outcome"] = data_sources.read_upload(
            uploaded.getvalue(), uploaded.name, options
        )
        ss["data_upload_signature"] = signature
    outcome = ss["data_upload_outcome"]
    names = read_names(names_files, outcome, signature)
    if outcome.ratings is not None:
        use_upload(uploaded.name, outcome, names, signature)
    show_upload_outcome(outcome)
    for named in names:
        show_names_outcome(named)
        names_columns_form(named, names_files[named.kind].file_id)
    if outcome.proposal is not None and outcome.ratings is None:
        proposal_form(outcome, uploaded.file_id)
    options_form(outcome, options, uploaded.file_id)


def read_names(files: dict, outcome: data_sources.UploadOutcome, signature: tuple) -> list:
    """The names files read against the uploaded ratings, once per (file, ratings)."""
    if outcome.ratings is None:
        return []
    ss = st.session_state
    cache = ss.setdefault("data_names_outcomes", {})
    read = []
    for kind, file in files.items():
        if file is None:
            continue
        chosen = chosen_names_columns(kind, file.file_id)
        key = (kind, file.file_id, signature, repr(chosen))
        if cache.get(kind, (None,))[0] != key:
            named = data_sources.read_names_upload(
                file.getvalue(), file.name, outcome.ratings, kind=kind, columns=chosen
            )
            cache[kind] = (key, named)
        read.append(cache[kind][1])
    return read


def use_upload(filename: str, outcome, names: list, signature: tuple) -> None:
    """Make the uploaded ratings (with their names) the session's data, once per change of
    the ratings, the reading options or the names files."""
    ss = st.session_state
    full_signature = (signature, tuple(named.digest for named in names if named.names))
    if ss.get("data_upload_dataset_signature") == full_signature:
        return
    ss["data_upload_dataset_signature"] = full_signature
    session.set_dataset(data_sources.upload_dataset(filename, outcome.ratings, names))


def show_names_outcome(named: data_sources.NamesOutcome) -> None:
    """The names file's read report, or why it could not be read (the ratings load anyway)."""
    filename = md_escape(named.filename)
    if named.error:
        st.warning(
            f"**{filename}**: the {named.kind} names could not be read: {named.error}. The "
            f"ratings are used without them ({named.kind}s show their ids)."
        )
        return
    report = named.names.report
    unmatched = (
        f"; {report.unmatched:,} name(s) match no rated {named.kind}" if report.unmatched else ""
    )
    st.success(
        f"{named.kind.capitalize()} names from **{filename}**: {report.matched:,} of "
        f"{report.matched + report.unnamed:,} rated {named.kind}s named{unmatched}."
    )
    with st.expander(f"How {filename} was read"):
        st.markdown("\n".join(f"- {md_escape(line)}" for line in named.report))


NAMES_COLUMN_LABELS = {"id": "Id column", "title": "Title column",
                      "category": "Category column (optional)"}  # fmt: skip
NAMES_READ_BUTTON = "Read names with these columns"


def chosen_names_columns(kind: str, file_id: str) -> dict | None:
    """The columns the user chose for this names file (None: the reader's own choice)."""
    kept = st.session_state.get("data_names_columns", {}).get(kind)
    return kept[1] if kept and kept[0] == file_id else None


def names_columns_form(named: data_sources.NamesOutcome, file_id: str) -> None:
    """The names file's id, title (and category) columns as selects, pre-filled with what the
    reader used; a click reads the file again with the user's choice. Open, with a note, when
    the reader only guessed the title column from its values; folded away otherwise."""
    if not named.columns:
        return  # not even a table: nothing to choose from
    kind, what = named.kind, "name" if named.kind == "user" else "title"
    roles = [r for r in data_sources.NAMES_ROLES if kind == "item" or r != "category"]
    filename = md_escape(named.filename)
    if named.certain:
        box = st.expander(f"Choose the columns of {filename}")
    else:
        box = st.container(border=True)
        if named.names is not None:
            box.warning(
                f"**{filename}**: no column is named like a {what}, so the reader took "
                f"**{md_escape(named.columns[named.guess['title']])}** "
                f"({md_escape(named.title_reason)}). Check the columns below; if they are "
                f"wrong, choose others and click “{NAMES_READ_BUTTON}”.",
                icon=":material/help:",
            )
    positions = list(range(len(named.columns)))
    label = {
        data_sources.NO_CATEGORIES: "(none)",
        data_sources.DETECTED_CATEGORIES: "the 0/1 flag columns (as detected)",
        **{j: name for j, name in enumerate(named.columns)},
    }
    with box, st.form(f"data_names_form_{kind}", border=False):
        chosen = {}
        for col, role in zip(st.columns(len(roles)), roles, strict=True):
            options = list(positions)
            if role == "category":
                detected = data_sources.DETECTED_CATEGORIES
                flags = named.guess.get(role) == detected
                options = [data_sources.NO_CATEGORIES, *([detected] if flags else []), *positions]
            current = named.guess.get(role)
            if current is None:  # no title found: offer the first column that is not the id
                current = next((j for j in options if j != chosen.get("id")), 0)
            chosen[role] = col.selectbox(
                NAMES_COLUMN_LABELS[role].replace("Title", what.capitalize()),
                options,
                index=options.index(current) if current in options else 0,
                format_func=label.__getitem__,
                key=f"data_w_{kind}_names_{role}_{named.digest}",
            )
        if st.form_submit_button(NAMES_READ_BUTTON, type="primary"):
            columns = st.session_state.setdefault("data_names_columns", {})
            columns[kind] = (file_id, chosen)
            st.rerun()


def show_upload_outcome(outcome: data_sources.UploadOutcome) -> None:
    filename = md_escape(outcome.filename)
    if outcome.error:
        st.error(f"**{filename}** could not be read: {outcome.error}")
        st.info(
            "Your previous dataset is still in use. Fix the file, or tell the reader below how "
            "to read it and re-read."
        )
    else:
        r = outcome.ratings
        st.success(
            f"Now using **{filename}**: {r.n_users:,} users × {r.n_items:,} items, "
            f"{r.nnz:,} ratings."
        )
        if outcome.duplicates is not None:
            st.info(data_sources.duplicates_note(outcome.duplicates), icon=":material/info:")
    left, right = st.columns([1, 1])
    with left:
        if outcome.detected:
            st.markdown("**Detected format**")
            st.markdown("\n".join(f"- {md_escape(line)}" for line in outcome.detected))
    with right:
        if outcome.preview is not None:
            title = "Parsed ratings (first rows)" if outcome.ratings else "First rows as text"
            st.markdown(f"**{title}**")
            st.dataframe(outcome.preview, hide_index=True, height=240)


ROLE_LABELS = {"user": "User column", "item": "Item column", "rating": "Rating column",
               "timestamp": "Time column (optional)"}  # fmt: skip


def proposal_form(outcome: data_sources.UploadOutcome, file_id: str) -> None:
    """The reader's proposed column mapping, pre-filled with its reason per column; one click
    reads the file with it (or with what the user changed)."""
    proposal = outcome.proposal
    names = list(outcome.columns)
    positions: list[int | None] = [None, *range(len(names))]
    label = {None: "(none)", **{j: name for j, name in enumerate(names)}}
    with st.container(border=True), st.form("data_proposal_form", border=False):
        st.markdown("**Proposed mapping**: what the values suggest, for you to check")
        cols = st.columns(len(ROLE_LABELS))
        chosen = {}
        for col, role in zip(cols, ROLE_LABELS, strict=True):
            current = proposal.columns.get(role)
            chosen[role] = col.selectbox(
                ROLE_LABELS[role],
                positions,
                index=positions.index(current) if current in positions else 0,
                format_func=label.__getitem__,
                key=f"data_w_prop_{role}",
            )
            col.caption(md_escape(proposal.reasons.get(role, "")))
        if proposal.others:
            left_out = (f"{md_escape(n)}: {md_escape(why)}" for n, why in proposal.others.items())
            st.caption("Left out: " + "; ".join(left_out))
        if st.form_submit_button("Use this mapping", type="primary"):
            use_columns(file_id, chosen)


def use_columns(file_id: str, columns: dict[str, int | None]) -> None:
    """Read the uploaded file again with these columns (None: the file has no such column; the
    other options as they were)."""
    saved = st.session_state.setdefault("data_upload_options", {})
    saved[file_id] = {**saved.get(file_id, {}), "columns": columns}
    st.rerun()


def options_form(outcome: data_sources.UploadOutcome, options: dict, file_id: str) -> None:
    """How to read the file: column mapping and dialect overrides, then re-read."""
    names = list(outcome.columns)
    positions: list[int | None] = [None, *range(len(names))]
    label = {None: "(detect)", **{j: name for j, name in enumerate(names)}}
    chosen_columns = dict(options.get("columns", {}))
    with (
        st.expander(
            data_sources.READING_OPTIONS_LABEL,
            expanded=bool(outcome.error) and outcome.proposal is None,
        ),
        st.form("data_read_options", border=False),
    ):
        cols = st.columns(4)
        columns = {}
        for col, role in zip(cols, ("user", "item", "rating", "timestamp"), strict=True):
            current = chosen_columns.get(role)
            pick = col.selectbox(
                f"{role} column",
                positions,
                index=positions.index(current) if current in positions else 0,
                format_func=label.__getitem__,
                key=f"data_w_map_{role}",
            )
            if pick is not None:
                columns[role] = pick
        cols = st.columns(3)
        layout = cols[0].selectbox(
            "Layout",
            list(LAYOUTS),
            format_func=LAYOUTS.__getitem__,
            key="data_w_layout",
            index=list(LAYOUTS).index(options.get("wide")),
        )
        separator = cols[1].selectbox(
            "Separator",
            list(SEPARATORS),
            format_func=SEPARATORS.__getitem__,
            key="data_w_separator",
            index=list(SEPARATORS).index(options.get("separator")),
        )
        header = cols[2].selectbox(
            "First line is a header",
            list(TRISTATE),
            format_func=TRISTATE.__getitem__,
            key="data_w_header",
            index=list(TRISTATE).index(options.get("header")),
        )
        cols = st.columns(2)
        drop_invalid = cols[0].checkbox(
            data_sources.DROP_INVALID_LABEL,
            value=options.get("drop_invalid", False),
            key="data_w_drop_invalid",
            help="Lines with the wrong number of fields, no user or item, or a rating that is "
            "not a number are left out; the report says how many and which.",
        )
        zero_is_missing = cols[1].checkbox(
            "Wide form: 0 means not rated (as in the article)",
            value=options.get("zero_is_missing", False),
            key="data_w_zero_missing",
        )
        if st.form_submit_button("Re-read the file", type="primary"):
            chosen = {
                "columns": columns,
                "wide": layout,
                "separator": separator,
                "header": header,
                "drop_invalid": drop_invalid,
                "zero_is_missing": zero_is_missing,
            }
            st.session_state.setdefault("data_upload_options", {})[file_id] = chosen
            st.rerun()


def movielens_tab() -> None:
    st.caption(
        "MovieLens 100K: 100,000 ratings by 943 users of 1,682 films, with titles and genres "
        "(GroupLens, research use). Downloaded once over HTTPS, checked, and cached on the server."
    )
    if st.button("Fetch MovieLens 100K", key="data_fetch_movielens"):
        jobs.start(
            MOVIELENS_JOB, MOVIELENS_KEY, data_sources.movielens_work(), describe=jobs.as_reported
        )
    ended = jobs.watch(MOVIELENS_JOB, stop_label="Stop the download")
    if ended is None:
        return
    if ended.error is not None:
        if isinstance(ended.error, data_sources.FetchError):
            st.error(str(ended.error))
        else:
            st.error("The download failed unexpectedly (details are in the server log).")
        return
    if ended.outcome is None or ended.outcome.value is None:
        st.info("The download was stopped; your data are unchanged.")
        return
    session.set_dataset(ended.outcome.value)
    st.success(f"Now using {ended.outcome.value.name}.")


# ----------------------------------------------------------------------------- saved model
def saved_model_tab() -> None:
    """Open a model trained elsewhere: a directory on the server, or a zip of one."""
    st.caption(
        "A model directory written by `python -m als_core fit RATINGS --out DIR` (or "
        "`als_core.save_model`): factors with the original ids, the training ratings, "
        "settings and history. Every page then explores that model as it is, without "
        "retraining."
    )
    cols = st.columns([5, 1], vertical_alignment="bottom")
    path = cols[0].text_input(
        "Model directory on the server",
        key="data_w_model_dir",
        placeholder="/data/models/movielens-25m",
        help="A path on the machine that runs this app (Streamlit cannot upload a folder).",
    )
    if cols[1].button("Open", key="data_open_model", type="primary"):
        open_saved_model(lambda: model_open.open_model_directory(path or ""))
    zipped = st.file_uploader(
        "…or upload a zip of a model directory",
        type=["zip"],
        key="data_w_model_zip",
        help=f"Up to {data_sources.max_upload_mb()} MB; larger models open from a directory.",
    )
    ss = st.session_state
    if zipped is not None and ss.get("data_model_zip_id") != zipped.file_id:
        ss["data_model_zip_id"] = zipped.file_id  # read once per uploaded file
        open_saved_model(lambda: model_open.open_model_zip(zipped.getvalue(), zipped.name))
    fit = session.loaded_fit()
    if fit is not None:
        saved_model.model_card(fit)
        saved_model.page_links()


def open_saved_model(opener) -> None:
    """Open with ``opener()`` and make it the session's model; on failure say why and keep
    the previous dataset."""
    try:
        with st.spinner("Opening the model (large models take a few seconds)…"):
            dataset, fit = opener()
    except model_open.ModelOpenError as error:
        st.error(f"Could not open the model. {md_escape(error)}")
        still_in_use()
        return
    session.set_model(dataset, fit)
    st.success(
        f"Now exploring **{md_escape(dataset.name)}**: {fit.train.n_users:,} users × "
        f"{fit.train.n_items:,} items, k = {fit.settings['k']}. "
        f"{model_open.EXTERNAL_MODEL_NOTE}"
    )


def summary(dataset: data_sources.Dataset) -> None:
    r = dataset.ratings
    st.subheader(md_escape(dataset.name))
    # Presenter mode: the pattern of holes (the main figure) first, the numbers below it.
    first, second = st.container(), st.container()
    facts, holes = (second, first) if presenter.active() else (first, second)
    with facts:
        numbers(r)
    with holes:
        chart_slot = st.container() if presenter.active() else None  # above the radio
        order = st.radio(
            "Order rows and columns",
            ["given", "activity"],
            horizontal=True,
            key="data_w_order",
            format_func={"given": "As loaded", "activity": "Most ratings first"}.__getitem__,
        )
        pack.chart(
            pattern(session.current_fingerprint(), order, r),
            key="data_pattern_chart",
            name="data-observed-ratings",
            container=chart_slot,
            main=True,
            reserve_px=presenter.SCREEN_RESERVE_PX + presenter.HEADING_PX,
        )
    info = data_summary.item_info_table(r)
    if info is not None:
        with st.expander(f"Item information ({r.n_items:,} items)"):
            st.dataframe(info, hide_index=True, height=300)


def numbers(r: ac.Ratings) -> None:
    """The dataset's size, scale and notes, then its rating histogram and activity curves."""
    shown = data_summary.summary(r)
    cols = st.columns(6)
    cols[0].metric("Users", f"{shown.n_users:,}")
    cols[1].metric("Items", f"{shown.n_items:,}")
    cols[2].metric("Ratings", f"{shown.n_ratings:,}")
    cols[3].metric("Density", f"{shown.density:.2%}")
    low, high = shown.rating_scale
    cols[4].metric("Rating range", f"{low:g} – {high:g}")
    cols[5].metric("Mean rating", f"{shown.mean:.2f}" if shown.mean is not None else "–")
    if shown.notes:
        notes = [md_escape(note) for note in shown.notes]
        text = " · ".join(notes)
        if len(text) <= 200:
            st.caption(text)
        else:  # e.g. the reader's full report of an upload: there when wanted, not in the way
            with st.expander("How these data were read"):
                st.markdown("\n".join(f"- {note}" for note in notes))
    left, right = st.columns(2)
    hist, activity = figure_pair(session.current_fingerprint(), r)
    pack.chart(hist, key="data_hist_chart", name="data-rating-histogram", container=left)
    pack.chart(activity, key="data_activity_chart", name="data-activity", container=right)


@st.cache_data(max_entries=16, show_spinner=False)
def figure_pair(fingerprint: str, _ratings: ac.Ratings) -> tuple:
    """Histogram and activity curves; keyed on the fingerprint (the Ratings is not hashed)."""
    return (
        figs.rating_histogram(_ratings.matrix.data),
        figs.activity_figure(_ratings.user_counts(), _ratings.item_counts()),
    )


@st.cache_data(max_entries=16, show_spinner=False)
def pattern(fingerprint: str, order: str, _ratings: ac.Ratings):
    return figs.sparsity_figure(
        _ratings.matrix,
        order=order,
        user_labels=_ratings.user_ids,
        item_labels=_ratings.item_ids,
    )


def main() -> None:
    opened = model_open.is_model_source(session.current_dataset().source)
    with presenter.controls("Choose data"):  # folded away in presenter mode
        tabs = st.tabs(
            ["Sample", "Generate", "Upload a file", "MovieLens 100K", "Saved model"],
            default="Saved model" if opened else None,
        )
        with tabs[0]:
            sample_tab()
        with tabs[1]:
            generate_tab()
        with tabs[2]:
            upload_tab()
        with tabs[3]:
            movielens_tab()
        with tabs[4]:
            saved_model_tab()
    summary(session.current_dataset())


pack = slides.SlidePack("data")  # summary() draws its figures through it
main()
pack.pack_button(
    settings={"dataset": session.current_dataset().name, **scene_url.current_params("data")}
)
