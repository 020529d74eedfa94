"""The public dashboard (Streamlit). It reads only the public Analytics API over HTTP
(MILKBOT_PUBLIC_API_URL): no database credentials, nothing from workers/ or the database layer."""
