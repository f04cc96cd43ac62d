"""banzi served with its session cookie route: `streamlit run app.py` (what `make run` does).

The dashboard itself is dashboard.py; this wraps it in an st.App so the server can set the
HttpOnly session cookie (ui/session_http.py). `streamlit run dashboard.py` still works, but a
sign-in then lasts only as long as the browser tab (no cookie): docs/access.md.
"""

from streamlit.runtime.pages_manager import PagesManager
from streamlit.starlette import App

from ui.session_http import routes

# dashboard.py builds its navigation with st.navigation. Without this, the first page view
# after a server start runs in the legacy pages/-folder mode, where a deep link such as
# /huaxiang is "not found" and dropped.
PagesManager.uses_pages_directory = False

app = App("dashboard.py", routes=routes())
