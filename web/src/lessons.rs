//! Guided "things to try": each lesson is a link that sets the controls through the URL (as
//! TensorFlow Playground's do), and says what to look at. Two view flags ride along in the
//! query without being settings: `lesson=ID` shows that lesson's note, `controls=0` hides the
//! controls so a teacher can embed one experiment.

/// One thing to try.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lesson {
    /// Its name in links (`lesson=ID`).
    pub id: &'static str,
    /// A few words for the strip.
    pub title: &'static str,
    /// The settings it sets, as a query (the rest keep their defaults).
    pub query: &'static str,
    /// What to look at once it runs. Questions, not claims: what the page shows is measured
    /// by the learner (and by the end-to-end test's screenshots), not promised here.
    pub look_for: &'static str,
}

/// The lessons, in the order the strip shows them.
pub const LESSONS: &[Lesson] = &[
    Lesson {
        id: "noise",
        title: "raise the noise to 20 %",
        query: "problem=heat&noise=0.2",
        look_for: "Compare each engine's ∇²T with the clean solution's: whose derivative keeps \
                   its shape, and whose turns to speckle, as the data get noisier?",
    },
    Lesson {
        id: "small-kernel",
        title: "shrink the kernel to 3 points",
        query: "problem=heat&noise=0.2&size=3",
        look_for: "The same noisy data with a kernel that averages over almost nothing: does \
                   the mollifier's ∇²T stay smooth once its convolution no longer smooths?",
    },
    Lesson {
        id: "fourth-order",
        title: "switch to a 4th-order problem",
        query: "problem=chromatin&noise=0.05",
        look_for: "Chromatin's residual needs ∇⁴: autodiff differentiates the network four \
                   times, the mollifier convolves with the kernel's derivatives. Watch the step \
                   counters and ms per step, then the ∇²φ_d panels.",
    },
    Lesson {
        id: "no-noise",
        title: "take the noise away",
        query: "problem=heat&noise=0",
        look_for: "Clean data: do the engines still differ in what they recover, or only in \
                   how fast they get there?",
    },
];

/// How the page shows itself, from the view flags of its query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct View {
    /// The lesson whose note is shown.
    pub lesson: Option<&'static Lesson>,
    /// Whether the controls are shown.
    pub controls: bool,
}

impl Default for View {
    fn default() -> Self {
        Self {
            lesson: None,
            controls: true,
        }
    }
}

impl View {
    /// The query keys that are view flags, not settings.
    pub const KEYS: [&'static str; 2] = ["lesson", "controls"];

    /// The view flags of a query (with or without `?`); other keys are the settings' business.
    /// Bad values are reported and ignored, as the settings' are.
    pub fn from_query(query: &str) -> (Self, Vec<String>) {
        let mut view = Self::default();
        let mut problems = Vec::new();
        for pair in query.trim_start_matches('?').split('&') {
            match pair.split_once('=').unwrap_or((pair, "")) {
                ("lesson", id) => match LESSONS.iter().find(|l| l.id == id) {
                    Some(l) => view.lesson = Some(l),
                    None => problems.push(format!("no lesson '{id}'")),
                },
                ("controls", "0") => view.controls = false,
                ("controls", "1") => view.controls = true,
                ("controls", v) => problems.push(format!("controls must be 0 or 1 (got '{v}')")),
                _ => {}
            }
        }
        (view, problems)
    }

    /// The flags that differ from the default, as query pairs (empty, or starting with `&`).
    pub fn to_query(&self) -> String {
        let mut q = String::new();
        if let Some(l) = self.lesson {
            q += &format!("&lesson={}", l.id);
        }
        if !self.controls {
            q += "&controls=0";
        }
        q
    }
}

/// The link of a lesson: its settings and its note.
pub fn href(lesson: &Lesson) -> String {
    format!("?{}&lesson={}", lesson.query, lesson.id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Settings;

    #[test]
    fn every_lesson_link_sets_what_it_says_and_shows_its_note() {
        for lesson in LESSONS {
            let link = href(lesson);
            let (settings, problems) = Settings::from_query(&link);
            assert!(problems.is_empty(), "{}: {problems:?}", lesson.id);
            let (view, problems) = View::from_query(&link);
            assert!(problems.is_empty(), "{}: {problems:?}", lesson.id);
            assert_eq!(view.lesson, Some(lesson));
            // Each pair of the lesson's query is in the settings it opens.
            let opened = settings.to_query();
            for pair in lesson.query.split('&') {
                assert!(
                    opened.split('&').any(|p| p == pair),
                    "{}: {pair} not in {opened}",
                    lesson.id
                );
            }
        }
    }

    #[test]
    fn view_flags_round_trip_and_bad_ones_are_reported() {
        let view = View {
            lesson: Some(&LESSONS[1]),
            controls: false,
        };
        assert_eq!(View::from_query(&view.to_query()), (view, vec![]));
        assert_eq!(View::default().to_query(), "");
        let (view, problems) = View::from_query("?noise=0.1&lesson=flying&controls=maybe");
        assert_eq!(view, View::default());
        assert_eq!(problems.len(), 2, "{problems:?}");
    }
}
